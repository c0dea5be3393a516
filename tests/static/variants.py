"""The broken fixtures: for every static control and every flavour it applies to, a copy of the
reference with exactly that control violated, made by editing a fresh copy (no committed trees).

Each variant names the file (and the text on the line) the failure message must point at: the
resource that fails, which is not always the file edited (a Terraform variable changes the
resource that uses it).
"""

from __future__ import annotations

from tests.static.helpers import Variant, append, cfn_default, json_edit, replace, tf_default

Y = "conncentric.yaml"
J = "conncentric.json"
VALUES = "values/production.yaml"
CHART = "chart/conncentric"

_OTHER_VPC_TF = """
resource "aws_vpc" "other" {
  cidr_block = "10.1.0.0/16"
}

resource "aws_subnet" "other" {
  for_each          = toset(var.availability_zones)
  vpc_id            = aws_vpc.other.id
  availability_zone = each.value
  cidr_block        = cidrsubnet("10.1.0.0/16", 3, index(var.availability_zones, each.value))
}
"""

_OTHER_VPC_CFN = """Resources:
  OtherVpc:
    Type: AWS::EC2::VPC
    Properties:
      CidrBlock: 10.1.0.0/16
  OtherSubnetA:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref OtherVpc
      AvailabilityZone: !Select [0, !GetAZs ""]
      CidrBlock: 10.1.0.0/19
  OtherSubnetB:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref OtherVpc
      AvailabilityZone: !Select [1, !GetAZs ""]
      CidrBlock: 10.1.32.0/19
  OtherSubnetC:
    Type: AWS::EC2::Subnet
    Properties:
      VpcId: !Ref OtherVpc
      AvailabilityZone: !Select [2, !GetAZs ""]
      CidrBlock: 10.1.64.0/19
"""

_THREE_SUBNETS = "        - !Ref PrivateSubnetA\n        - !Ref PrivateSubnetB\n        - !Ref PrivateSubnetC\n"
_ONE_SUBNET = "        - !Ref PrivateSubnetA\n"
_MSK_SUBNETS = "        ClientSubnets:\n          - !Ref PrivateSubnet{}\n          - !Ref PrivateSubnet{}\n" \
               "          - !Ref PrivateSubnet{}\n"


def _res(name: str):
    return lambda doc: doc["Resources"][name]["Properties"]


TERRAFORM = [
    Variant("tf-ver01", "VER-01", "terraform", [tf_default("eks_version", '"1.29"')], "eks.tf",
            'resource "aws_eks_cluster" "main"', ["1.29", "below the minimum 1.30"]),
    Variant("tf-ver02", "VER-02", "terraform", [tf_default("db_engine_version", '"14.10"')], "rds.tf",
            'resource "aws_db_instance" "main"', ["14.10", "below the minimum 15"]),
    Variant("tf-ver03", "VER-03", "terraform", [tf_default("kafka_version", '"3.4.0"')], "msk.tf",
            'resource "aws_msk_cluster" "main"', ["3.4.0", "below the minimum 3.5"]),
    Variant("tf-size01", "SIZE-01", "terraform", [tf_default("node_instance_type", '"m6i.large"')], "eks.tf",
            'resource "aws_eks_node_group" "main"', ["m6i.large"]),
    Variant("tf-size02", "SIZE-02", "terraform", [tf_default("db_instance_class", '"db.t3.medium"')], "rds.tf",
            'resource "aws_db_instance" "main"', ["db.t3.medium"]),
    Variant("tf-size03", "SIZE-03", "terraform", [tf_default("kafka_broker_instance_type", '"kafka.t3.small"')],
            "msk.tf", 'resource "aws_msk_cluster" "main"', ["kafka.t3.small"]),
    Variant("tf-ha01", "HA-01", "terraform", [replace("rds.tf", "multi_az                = true",
                                                      "multi_az                = false")],
            "rds.tf", 'resource "aws_db_instance" "main"', ["MultiAZ is false"]),
    Variant("tf-ha02", "HA-02", "terraform", [tf_default("db_backup_retention_days", "0")], "rds.tf",
            'resource "aws_db_instance" "main"', ["backup retention is 0"]),
    Variant("tf-ha03-count", "HA-03", "terraform", [tf_default("kafka_broker_count", "2")], "msk.tf",
            'resource "aws_msk_cluster" "main"', ["2 broker node(s)"]),
    # Cross-resource: the client subnets are resolved to their availability zones.
    Variant("tf-ha03-zones", "HA-03", "terraform",
            [replace("msk.tf", "client_subnets  = local.private_subnet_ids",
                     'client_subnets  = [aws_subnet.private["us-east-1a"].id, aws_subnet.private["us-east-1b"].id, '
                     'aws_subnet.private["us-east-1a"].id]')],
            "msk.tf", 'resource "aws_msk_cluster" "main"', ["2 availability zone(s)"]),
    Variant("tf-ha04", "HA-04", "terraform",
            [replace("eks.tf", "subnet_ids     = local.private_subnet_ids",
                     'subnet_ids     = [aws_subnet.private["us-east-1a"].id]')],
            "eks.tf", 'resource "aws_eks_node_group" "main"', ["1 availability zone(s)"]),
    Variant("tf-ha06", "HA-06", "terraform",
            [replace("alb.tf", "subnets         = local.private_subnet_ids",
                     'subnets         = [aws_subnet.private["us-east-1b"].id]')],
            "alb.tf", 'resource "aws_lb" "main"', ["1 availability zone(s)"]),
    # Cross-resource: the rule names another group; the database no longer admits the nodes' group.
    Variant("tf-net01", "NET-01", "terraform",
            [replace("network.tf", "security_group_id            = aws_security_group.rds.id\n"
                                   "  referenced_security_group_id = aws_security_group.eks_nodes.id",
                     "security_group_id            = aws_security_group.rds.id\n"
                     "  referenced_security_group_id = aws_security_group.alb.id")],
            "rds.tf", 'resource "aws_db_instance" "main"', ["do not admit TCP 5432"]),
    Variant("tf-net02", "NET-02", "terraform",
            [replace("network.tf", "security_group_id            = aws_security_group.msk.id\n"
                                   "  referenced_security_group_id = aws_security_group.eks_nodes.id",
                     "security_group_id            = aws_security_group.msk.id\n"
                     "  referenced_security_group_id = aws_security_group.alb.id")],
            "msk.tf", 'resource "aws_msk_cluster" "main"', ["do not admit TCP 9092 or 9094"]),
    Variant("tf-net03", "NET-03", "terraform",
            [append("network.tf", 'resource "aws_vpc_security_group_ingress_rule" "rds_world" {\n'
                                  "  security_group_id = aws_security_group.rds.id\n"
                                  '  cidr_ipv4         = "0.0.0.0/0"\n  ip_protocol       = "tcp"\n'
                                  "  from_port         = 5432\n  to_port           = 5432\n}\n")],
            "network.tf", 'resource "aws_vpc_security_group_ingress_rule" "rds_world"', ["0.0.0.0/0"]),
    Variant("tf-net06", "NET-06", "terraform", [replace("alb.tf", "internal           = true",
                                                        "internal           = false")],
            "alb.tf", 'resource "aws_lb" "main"', ["internet-facing", "internal"]),
    Variant("tf-net07", "NET-07", "terraform", [replace("msk.tf", 'client_broker = "TLS"',
                                                        'client_broker = "TLS_PLAINTEXT"')],
            "msk.tf", 'resource "aws_msk_cluster" "main"', ["TLS_PLAINTEXT"]),
    # Cross-resource: subnets -> their VPC.
    Variant("tf-net08", "NET-08", "terraform",
            [append("network.tf", _OTHER_VPC_TF),
             replace("msk.tf", "client_subnets  = local.private_subnet_ids",
                     "client_subnets  = values(aws_subnet.other)[*].id")],
            "msk.tf", 'resource "aws_msk_cluster" "main"', ["aws_vpc.other", "aws_vpc.main"]),
    # Cross-resource: policy -> attachment -> role; the bucket and its key.
    Variant("tf-iam01", "IAM-01", "terraform", [replace("iam.tf", 'Action   = "s3:GetObject"',
                                                        'Action   = ["s3:GetObject", "s3:PutObject"]')],
            "iam.tf", 'resource "aws_iam_policy" "installer_bundles"', ["s3:PutObject"]),
    Variant("tf-iam03", "IAM-03", "terraform",
            [replace("iam.tf", '"system:serviceaccount:${var.k8s_namespace}:${var.installer_service_account}"',
                     '"system:serviceaccount:${var.k8s_namespace}:*"')],
            "iam.tf", 'data "aws_iam_policy_document" "installer_trust"', ["system:serviceaccount:conncentric:*"]),
    Variant("tf-s301", "S3-01", "terraform", [replace("s3.tf", 'status = "Enabled"', 'status = "Suspended"')],
            "s3.tf", 'resource "aws_s3_bucket_versioning" "bundles"', ["Suspended"]),
    Variant("tf-s302", "S3-02", "terraform", [replace("s3.tf", "block_public_policy     = true",
                                                      "block_public_policy     = false")],
            "s3.tf", 'resource "aws_s3_bucket" "bundles"', ["block_public_policy"]),
    Variant("tf-ecr01", "ECR-01", "terraform", [tf_default("ecr_repositories", '["orchestrator", "adapter"]')],
            "ecr.tf", 'resource "aws_ecr_repository" "images"', ["'portal'"]),
]

CLOUDFORMATION_YAML = [
    Variant("cfn-ver01", "VER-01", "cloudformation-yaml", [cfn_default(Y, "EksVersion", '"1.29"')], Y,
            "  EksCluster:", ["1.29"]),
    Variant("cfn-ver02", "VER-02", "cloudformation-yaml", [cfn_default(Y, "DbEngineVersion", '"14.10"')], Y,
            "  Database:", ["14.10"]),
    Variant("cfn-ver03", "VER-03", "cloudformation-yaml", [cfn_default(Y, "KafkaVersion", "3.4.0")], Y,
            "  KafkaCluster:", ["3.4.0"]),
    Variant("cfn-size01", "SIZE-01", "cloudformation-yaml", [cfn_default(Y, "NodeInstanceType", "m6i.large")], Y,
            "  EksNodegroup:", ["m6i.large"]),
    Variant("cfn-size02", "SIZE-02", "cloudformation-yaml", [cfn_default(Y, "DbInstanceClass", "db.t3.medium")], Y,
            "  Database:", ["db.t3.medium"]),
    Variant("cfn-size03", "SIZE-03", "cloudformation-yaml",
            [cfn_default(Y, "KafkaBrokerInstanceType", "kafka.t3.small")], Y, "  KafkaCluster:", ["kafka.t3.small"]),
    Variant("cfn-ha01", "HA-01", "cloudformation-yaml", [replace(Y, "MultiAZ: true", "MultiAZ: false")], Y,
            "  Database:", ["MultiAZ is false"]),
    Variant("cfn-ha02", "HA-02", "cloudformation-yaml",
            [replace(Y, "BackupRetentionPeriod: !Ref DbBackupRetentionDays", "BackupRetentionPeriod: 0")], Y,
            "  Database:", ["backup retention is 0"]),
    Variant("cfn-ha03", "HA-03", "cloudformation-yaml",
            [replace(Y, _MSK_SUBNETS.format("A", "B", "C"), _MSK_SUBNETS.format("A", "B", "A"))],
            Y, "  KafkaCluster:", ["2 availability zone(s)"]),
    Variant("cfn-ha04", "HA-04", "cloudformation-yaml",
            [replace(Y, "      Subnets:\n" + _THREE_SUBNETS + "      ScalingConfig:",
                     "      Subnets:\n" + _ONE_SUBNET + "      ScalingConfig:")],
            Y, "  EksNodegroup:", ["1 availability zone(s)"]),
    Variant("cfn-ha06", "HA-06", "cloudformation-yaml",
            [replace(Y, "      Subnets:\n" + _THREE_SUBNETS + "      SecurityGroups:\n        - !GetAtt AlbSecurityGroup",
                     "      Subnets:\n" + _ONE_SUBNET + "      SecurityGroups:\n        - !GetAtt AlbSecurityGroup")],
            Y, "  LoadBalancer:", ["1 availability zone(s)"]),
    Variant("cfn-net01", "NET-01", "cloudformation-yaml",
            [replace(Y, "GroupId: !GetAtt RdsSecurityGroup.GroupId\n      SourceSecurityGroupId: !GetAtt NodeSecurityGroup",
                     "GroupId: !GetAtt RdsSecurityGroup.GroupId\n      SourceSecurityGroupId: !GetAtt AlbSecurityGroup")],
            Y, "  Database:", ["do not admit TCP 5432"]),
    Variant("cfn-net02", "NET-02", "cloudformation-yaml",
            [replace(Y, "GroupId: !GetAtt MskSecurityGroup.GroupId\n      SourceSecurityGroupId: !GetAtt NodeSecurityGroup",
                     "GroupId: !GetAtt MskSecurityGroup.GroupId\n      SourceSecurityGroupId: !GetAtt AlbSecurityGroup")],
            Y, "  KafkaCluster:", ["do not admit TCP 9092 or 9094"]),
    Variant("cfn-net03", "NET-03", "cloudformation-yaml",
            [replace(Y, "      GroupDescription: PostgreSQL, 5432 from the EKS nodes only\n",
                     "      GroupDescription: PostgreSQL, 5432 from the EKS nodes only\n      SecurityGroupIngress:\n"
                     "        - IpProtocol: tcp\n          FromPort: 5432\n          ToPort: 5432\n"
                     "          CidrIp: 0.0.0.0/0\n")],
            Y, "        - IpProtocol: tcp", ["0.0.0.0/0"]),
    Variant("cfn-net06", "NET-06", "cloudformation-yaml", [replace(Y, "Scheme: internal", "Scheme: internet-facing")],
            Y, "  LoadBalancer:", ["internet-facing"]),
    Variant("cfn-net07", "NET-07", "cloudformation-yaml", [replace(Y, "ClientBroker: TLS", "ClientBroker: PLAINTEXT")],
            Y, "  KafkaCluster:", ["PLAINTEXT"]),
    Variant("cfn-net08", "NET-08", "cloudformation-yaml",
            [replace(Y, "Resources:\n", _OTHER_VPC_CFN),
             replace(Y, _MSK_SUBNETS.format("A", "B", "C"),
                     _MSK_SUBNETS.format("A", "B", "C").replace("PrivateSubnet", "OtherSubnet"))],
            Y, "  KafkaCluster:", ["OtherVpc"]),
    Variant("cfn-iam01", "IAM-01", "cloudformation-yaml",
            [replace(Y, "Action: s3:GetObject", "Action: [s3:GetObject, s3:DeleteObject]")],
            Y, "          - Sid: AllowBundleDownload", ["s3:DeleteObject"]),
    Variant("cfn-iam03", "IAM-03", "cloudformation-yaml",
            [replace(Y, '"${OidcIssuer}:aud": "sts.amazonaws.com"', '"${OidcIssuer}:aud": "sts.example.com"')],
            Y, "  InstallerRole:", ["sts.example.com"]),
    Variant("cfn-s301", "S3-01", "cloudformation-yaml", [replace(Y, "Status: Enabled", "Status: Suspended")], Y,
            "  BundleBucket:", ["Suspended"]),
    Variant("cfn-s302", "S3-02", "cloudformation-yaml",
            [replace(Y, "BlockPublicPolicy: true", "BlockPublicPolicy: false")], Y, "  BundleBucket:",
            ["block_public_policy"]),
    Variant("cfn-ecr01", "ECR-01", "cloudformation-yaml",
            [replace(Y, "RepositoryName: portal", "RepositoryName: portal-ui")], Y, "  OrchestratorRepository:",
            ["'portal'"]),
]


def _sg_ingress_from(doc: dict, group: str, source: str) -> None:
    for rule in doc["Resources"][group]["Properties"]["SecurityGroupIngress"]:
        rule["SourceSecurityGroupId"] = {"Fn::GetAtt": [source, "GroupId"]}


CLOUDFORMATION_JSON = [
    Variant("json-ver01", "VER-01", "cloudformation-json",
            [json_edit(J, lambda d: d["Parameters"]["EksVersion"].update(Default="1.28"))], J, '"EksCluster": {',
            ["1.28"]),
    Variant("json-ha01", "HA-01", "cloudformation-json",
            [json_edit(J, lambda d: _res("Database")(d).update(MultiAZ=False))], J, '"Database": {',
            ["MultiAZ is false"]),
    Variant("json-net01", "NET-01", "cloudformation-json",
            [json_edit(J, lambda d: _sg_ingress_from(d, "RdsSecurityGroup", "MskSecurityGroup"))], J,
            '"Database": {', ["do not admit TCP 5432"]),
    Variant("json-iam03", "IAM-03", "cloudformation-json",
            [json_edit(J, lambda d: _res("InstallerRole")(d)["AssumeRolePolicyDocument"]["Fn::Sub"].__setitem__(
                0, _res("InstallerRole")(d)["AssumeRolePolicyDocument"]["Fn::Sub"][0].replace(
                    "sts:AssumeRoleWithWebIdentity", "sts:AssumeRole")))],
            J, '"InstallerRole": {', ["sts:AssumeRole"]),
    Variant("json-s301", "S3-01", "cloudformation-json",
            [json_edit(J, lambda d: _res("BundleBucket")(d).pop("VersioningConfiguration"))], J, '"BundleBucket": {',
            ["not enabled"]),
]

HELM = [
    Variant("helm-k8s02", "K8S-02", "helm",
            [replace(f"{CHART}/templates/ingress.yaml", "          - path: /api\n", "          - path: /api-disabled\n"),
             replace(f"{CHART}/templates/ingress.yaml", "                name: orchestrator\n",
                     "                name: portal\n")],
            "ingress.yaml", "kind: Ingress", ["orchestrator"]),
    Variant("helm-k8s03", "K8S-03", "helm",
            [replace(VALUES, "portal:\n  replicas: 2\n",
                     "portal:\n  replicas: 2\n  resources:\n    requests: {cpu: 250m, memory: 512Mi}\n    limits: null\n")],
            "deployments.yaml", "kind: Deployment", ["conncentric/portal", "resources.limits.cpu"]),
    Variant("helm-k8s04", "K8S-04", "helm",
            [append(VALUES, "containerSecurityContext:\n  allowPrivilegeEscalation: true\n")],
            "deployments.yaml", "kind: Deployment", ["allows privilege escalation"]),
    Variant("helm-k8s05", "K8S-05", "helm",
            [replace(VALUES, "  KAFKA_SECURITY_PROTOCOL: SSL\n",
                     "  KAFKA_SECURITY_PROTOCOL: SSL\n  KAFKA_SASL_PASSWORD: \"not-a-real-password\"\n")],
            "production.yaml", "KAFKA_SASL_PASSWORD", ["KAFKA_SASL_PASSWORD", "literal"]),
    Variant("helm-iam02", "IAM-02", "helm",
            [replace(VALUES, "  roleArn: arn:aws:iam::123456789012:role/conncentric-installer-s3-read\n",
                     "  roleArn: null\n")],
            "serviceaccount.yaml", "kind: ServiceAccount", ["no eks.amazonaws.com/role-arn"]),
    Variant("helm-net06", "NET-06", "helm",
            [replace(f"{CHART}/templates/ingress.yaml", "alb.ingress.kubernetes.io/scheme: internal",
                     "alb.ingress.kubernetes.io/scheme: internet-facing")],
            "ingress.yaml", "kind: Ingress", ["internet-facing"]),
    Variant("helm-helm01-url", "HELM-01", "helm",
            [replace(VALUES, '"https://conncentric-bundles-reference', '"http://conncentric-bundles-reference')],
            "production.yaml", "custom-bundle-v1.0.0.zip", ["not https"]),
    Variant("helm-helm01-port", "HELM-01", "helm",
            [replace(VALUES, "amazonaws.com:9094,b-2", "amazonaws.com:9093,b-2")],
            "production.yaml", "KAFKA_BOOTSTRAP_SERVERS", ["9093"]),
    Variant("helm-iam06", "IAM-06", "helm",
            [replace(VALUES, 'custom-bundle-v1.0.0.zip"',
                     'custom-bundle-v1.0.0.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=1209600'
                     '&X-Amz-Signature=0000"')],
            "production.yaml", "custom-bundle-v1.0.0.zip", ["1209600", "604800"]),
]

MANIFESTS = [
    Variant("k8s-k8s02", "K8S-02", "manifests",
            [replace("conncentric.yaml", "  tls:\n", "  notls:\n"),
             replace("conncentric.yaml", "alb.ingress.kubernetes.io/certificate-arn:", "example.com/certificate-arn:")],
            "conncentric.yaml", "kind: Ingress", ["no TLS"]),
    Variant("k8s-k8s03", "K8S-03", "manifests", [replace("conncentric.yaml", "            limits:\n", "            limitz:\n")],
            "conncentric.yaml", "kind: Deployment", ["resources.limits"]),
    Variant("k8s-k8s04", "K8S-04", "manifests", [replace("conncentric.yaml", "privileged: false", "privileged: true")],
            "conncentric.yaml", "kind: Deployment", ["is privileged"]),
    Variant("k8s-k8s05", "K8S-05", "manifests",
            [replace("conncentric.yaml", "            - name: DB_HOST\n",
                     "            - name: API_TOKEN\n              value: \"plain-text-token\"\n            - name: DB_HOST\n")],
            "conncentric.yaml", "kind: Deployment", ["API_TOKEN"]),
    Variant("k8s-iam02", "IAM-02", "manifests",
            [replace("conncentric.yaml", "eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/",
                     "eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:user/")],
            "conncentric.yaml", "kind: ServiceAccount", ["not an IAM role ARN"]),
    Variant("k8s-net06", "NET-06", "manifests",
            [replace("conncentric.yaml", "alb.ingress.kubernetes.io/ssl-redirect:", "example.com/no-ssl-redirect:")],
            "conncentric.yaml", "kind: Ingress", ["instead of redirecting to HTTPS"]),
]

FILES = [
    Variant("compose-k8s05", "K8S-05", "compose",
            [replace("docker-compose.yml", "DB_PASSWORD: ${DB_PASSWORD}", 'DB_PASSWORD: "changeme123"')],
            "docker-compose.yml", "DB_PASSWORD", ["DB_PASSWORD", "literal"]),
    Variant("gradle-sdk02-config", "SDK-02", "gradle",
            [replace("build.gradle.kts", 'compileOnly("com.connamara', 'implementation("com.connamara')],
            "build.gradle.kts", "com.connamara:conncentric-sdk", ["implementation", "not compileOnly"]),
    Variant("gradle-sdk02-password", "SDK-02", "gradle",
            [replace("build.gradle.kts", 'password = System.getenv("CODEARTIFACT_AUTH_TOKEN")',
                     'password = "eyJ2ZXIiOjEsImlzdSI6MTcwMDAwMDAwMH0"')],
            "build.gradle.kts", "password =", ["literal"]),
    Variant("gradle-sdk02-localjar", "SDK-02", "gradle",
            [replace("build.gradle.kts", 'compileOnly("com.connamara:conncentric-sdk:1.0.0")',
                     'compileOnly(files("libs/conncentric-sdk-1.0.0.jar"))')],
            "build.gradle.kts", "libs/conncentric-sdk", ["local file"]),
]
