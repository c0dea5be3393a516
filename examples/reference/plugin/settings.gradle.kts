// The JAR is build/libs/my-custom-processor-1.0.0.jar, as in the seed's
// plugin pipeline.
rootProject.name = "my-custom-processor"
