// A custom Conncentric plugin built against the Plugin SDK.
//
// The SDK is NOT in this repository (SDK-01): it is published once to the
// private CodeArtifact repository and resolved from there like any other
// dependency (SDK-02).

plugins {
    `java-library`
}

group = "com.example.conncentric"
version = "1.0.0"

java {
    toolchain {
        languageVersion.set(JavaLanguageVersion.of(17))
    }
}

repositories {
    mavenCentral()
    maven {
        url = uri("https://conncentric-123456789012.d.codeartifact.us-east-1.amazonaws.com/maven/conncentric/")
        credentials {
            // CodeArtifact takes the literal user "aws"; the token comes from
            // `aws codeartifact get-authorization-token` in the environment
            // and is never written down here.
            username = "aws"
            password = System.getenv("CODEARTIFACT_AUTH_TOKEN")
        }
    }
}

dependencies {
    // compileOnly: the platform provides the SDK at run time, so it must not
    // be packaged into the plugin JAR.
    compileOnly("com.connamara:conncentric-sdk:1.0.0")
}
