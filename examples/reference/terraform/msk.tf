# Kafka for adapter-to-adapter messaging: three brokers, one per AZ, TLS only.

resource "aws_msk_cluster" "main" {
  cluster_name           = "${local.name_prefix}-kafka"
  kafka_version          = var.kafka_version
  number_of_broker_nodes = var.kafka_broker_count

  broker_node_group_info {
    instance_type = var.kafka_broker_instance_type
    # One subnet per AZ: MSK places one broker in each (HA-03).
    client_subnets  = local.private_subnet_ids
    security_groups = [aws_security_group.msk.id]

    storage_info {
      ebs_storage_info {
        volume_size = 200
      }
    }
  }

  encryption_info {
    encryption_in_transit {
      # NET-07: clients speak TLS on 9094; no plaintext listener exists.
      client_broker = "TLS"
      in_cluster    = true
    }
  }

  # TLS without client certificates or IAM: IAM auth would listen on 9098,
  # which is not one of the ports the reference architecture opens.
  client_authentication {
    unauthenticated = true
  }

  configuration_info {
    arn      = aws_msk_configuration.main.arn
    revision = aws_msk_configuration.main.latest_revision
  }
}

resource "aws_msk_configuration" "main" {
  name           = "${local.name_prefix}-kafka"
  kafka_versions = [var.kafka_version]

  # HA-07: topics the platform creates survive the loss of one broker.
  server_properties = <<-PROPERTIES
    auto.create.topics.enable=false
    default.replication.factor=3
    min.insync.replicas=2
  PROPERTIES
}
