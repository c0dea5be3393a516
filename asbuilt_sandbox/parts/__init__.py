"""One module per real part of the sandbox (moto, PostgreSQL, Kafka, kube-apiserver, network)."""
