"""A corpus of Terraform roots written the way module ecosystems write them, for the speed benchmark
(benchmarks/static_speed.py --corpus N) and the tests (tests/static/test_corpus.py).

Each root: subnets ``for_each`` over a map keyed by availability zone, a local module
(``modules/database``) with ``null`` defaults, ``coalesce``/``try``/``merge``, a ``count``-toggled
replica that is off (``count = 0``), a ``dynamic "ingress"`` over a variable the caller passes, a
``for`` expression handing the subnet map to the module, and ``.auto.tfvars``. It conforms for
every control it decides (VER-02, SIZE-02, HA-01, HA-02, NET-03); ``broken=`` names one control
to break instead.
"""

from __future__ import annotations

from pathlib import Path

MODULE = '''\
variable "name" {
  description = "Name of the database and of everything around it"
  type        = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  description = "Subnet ids keyed by availability zone"
  type        = map(string)
}

variable "engine_version" {
  type    = string
  default = "16.3"
}

variable "instance_class" {
  type    = string
  default = null
}

variable "multi_az" {
  description = "null: the module's default (Multi-AZ)"
  type        = bool
  default     = null
}

variable "backup" {
  type    = object({ retention_days = optional(number) })
  default = {}
}

variable "create_replica" {
  type    = bool
  default = false
}

variable "ingress_rules" {
  type = list(object({
    description = string
    port        = number
    cidr_blocks = list(string)
  }))
  default = []
}

variable "tags" {
  type    = map(string)
  default = {}
}

locals {
  tags = merge({ "app.kubernetes.io/part-of" = "platform", Module = "database" }, var.tags)
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = values(var.subnet_ids)
  tags       = local.tags
}

resource "aws_security_group" "this" {
  name_prefix = "${var.name}-db-"
  vpc_id      = var.vpc_id
  tags        = local.tags

  dynamic "ingress" {
    for_each = var.ingress_rules
    content {
      description = ingress.value.description
      from_port   = ingress.value.port
      to_port     = ingress.value.port
      protocol    = "tcp"
      cidr_blocks = ingress.value.cidr_blocks
    }
  }
}

resource "aws_db_instance" "this" {
  identifier              = var.name
  engine                  = "postgres"
  engine_version          = var.engine_version
  instance_class          = coalesce(var.instance_class, "db.r6g.large")
  allocated_storage       = 100
  multi_az                = coalesce(var.multi_az, true)
  backup_retention_period = coalesce(try(var.backup.retention_days, null), 7)
  db_subnet_group_name    = aws_db_subnet_group.this.name
  vpc_security_group_ids  = [aws_security_group.this.id]
  storage_encrypted       = true
  skip_final_snapshot     = false
  tags                    = local.tags
}

resource "aws_db_instance" "replica" {
  count = var.create_replica ? 1 : 0

  identifier          = "${var.name}-replica"
  replicate_source_db = aws_db_instance.this.identifier
  instance_class      = "db.t3.micro"
  multi_az            = false
  tags                = local.tags
}

output "db_instance_id" {
  value = aws_db_instance.this.id
}

output "security_group_id" {
  value = aws_security_group.this.id
}
'''

ROOT = '''\
locals {{
  azs = {{
    a = "us-east-1a"
    b = "us-east-1b"
    c = "us-east-1c"
  }}
}}

variable "environment" {{
  type = string
}}

resource "aws_vpc" "main" {{
  cidr_block           = "10.{n}.0.0/16"
  enable_dns_hostnames = true
  tags                 = {{ Name = "platform-${{var.environment}}" }}
}}

resource "aws_subnet" "database" {{
  for_each          = local.azs
  vpc_id            = aws_vpc.main.id
  availability_zone = each.value
  cidr_block        = cidrsubnet(aws_vpc.main.cidr_block, 8, index(keys(local.azs), each.key) + 20)
  tags              = {{ Name = "database-${{each.key}}" }}
}}

module "database" {{
  source = "./modules/database"

  name       = "platform-{n}"
  vpc_id     = aws_vpc.main.id
  subnet_ids = {{ for k, s in aws_subnet.database : k => s.id }}
{extra}
  ingress_rules = [
    {{
      description = "PostgreSQL from the VPC"
      port        = 5432
      cidr_blocks = ["{cidr}"]
    }},
  ]
}}
'''

BROKEN = {
    "HA-01": "  multi_az = false\n",
    "HA-02": "  backup   = { retention_days = 0 }\n",
    "SIZE-02": '  instance_class = "db.t3.micro"\n',
    "VER-02": '  engine_version = "13.14"\n',
    "NET-03": "",
}


def write_root(dst: Path, n: int = 0, broken: str | None = None) -> Path:
    """One root module (with its local module) under dst."""
    (dst / "modules" / "database").mkdir(parents=True, exist_ok=True)
    (dst / "modules" / "database" / "main.tf").write_text(MODULE)
    extra = BROKEN.get(broken or "", "")
    cidr = "0.0.0.0/0" if broken == "NET-03" else "10.0.0.0/16"
    (dst / "main.tf").write_text(ROOT.format(n=n % 250, extra=extra, cidr=cidr))
    (dst / "production.auto.tfvars").write_text('environment = "production"\n')
    return dst


def write_corpus(dst: Path, count: int) -> Path:
    """count roots under dst (root-000, root-001, ...)."""
    for i in range(count):
        write_root(dst / f"root-{i:03d}", i)
    return dst
