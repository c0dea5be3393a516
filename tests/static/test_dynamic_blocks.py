"""``dynamic`` blocks as modules write them: ``for_each`` over a local list of rule objects, over
``toset(var.ports)``, over a map keyed by name, with ``iterator =``. A collection whose value is
known (a literal, a local, a variable's default, tfvars, --var) is expanded and judged; one that is
not stays an unknown fact naming the iterator."""

from __future__ import annotations

from pathlib import Path

from asbuilt.catalogue import load_profile

DB = '''
resource "aws_vpc" "main" {
  cidr_block = "10.0.0.0/16"
}

resource "aws_db_instance" "main" {
  identifier              = "platform"
  engine                  = "postgres"
  engine_version          = "16.3"
  instance_class          = "db.r6g.large"
  multi_az                = true
  backup_retention_period = 7
  vpc_security_group_ids  = [aws_security_group.db.id]
}
'''

LOCAL_RULES = '''
locals {
  db_ingress_rules = [
    {
      description = "PostgreSQL from the VPC"
      port        = 5432
      cidr_blocks = ["%s"]
    },
  ]
}

resource "aws_security_group" "db" {
  name_prefix = "platform-db-"
  vpc_id      = aws_vpc.main.id

  dynamic "ingress" {
    for_each = local.db_ingress_rules
    content {
      description = ingress.value.description
      from_port   = ingress.value.port
      to_port     = ingress.value.port
      protocol    = "tcp"
      cidr_blocks = ingress.value.cidr_blocks
    }
  }
}
'''

VAR_PORTS = '''
variable "db_ports" {
  description = "Ports the database admits from allowed_cidrs"
  type        = list(number)
  default     = [5432]
}

variable "allowed_cidrs" {
  type    = map(string)
  default = { vpc = "10.0.0.0/16" }
}

resource "aws_security_group" "db" {
  name   = "platform-db"
  vpc_id = aws_vpc.main.id

  dynamic "ingress" {
    for_each = toset(var.db_ports)
    iterator = port
    content {
      description = "PostgreSQL ${port.key}"
      from_port   = port.value
      to_port     = port.value
      protocol    = "tcp"
      cidr_blocks = values(var.allowed_cidrs)
    }
  }
}
'''


def _scan(tmp_path: Path, text: str, tf_vars: list[str] | None = None, name: str = "root") -> dict:
    from asbuilt.static.engine import Scan, discover_paths

    root = tmp_path / name
    root.mkdir(exist_ok=True)
    (root / "main.tf").write_text(DB + text)
    inputs = discover_paths([root], [])
    inputs.tf_vars = list(tf_vars or [])
    result = Scan(inputs, load_profile("conncentric-aws")).run()
    return {v.control: v for v in result.verdicts}


def test_a_dynamic_block_over_a_local_list_is_expanded_and_judged(tmp_path):
    v = _scan(tmp_path, LOCAL_RULES % "10.0.0.0/16")["NET-03"]
    assert v.status == "pass", v.message
    v = _scan(tmp_path, LOCAL_RULES % "0.0.0.0/0", name="open")["NET-03"]
    assert v.status == "fail", v.message
    assert "0.0.0.0/0" in v.message and "aws_security_group.db" in v.message


def test_a_dynamic_block_over_a_variable_is_judged_with_its_value(tmp_path):
    assert _scan(tmp_path, VAR_PORTS)["NET-03"].status == "pass"
    # a port the data tier must not open, given as the variable's value (--var, as terraform plan -var)
    v = _scan(tmp_path, VAR_PORTS, ["db_ports=[5432, 22]"], name="ssh")["NET-03"]
    assert v.status == "fail" and "22" in v.message, v.message
    v = _scan(tmp_path, VAR_PORTS, ['allowed_cidrs={ any = "0.0.0.0/0" }'], name="open")["NET-03"]
    assert v.status == "fail" and "0.0.0.0/0" in v.message, v.message


def test_an_empty_collection_makes_no_rules(tmp_path):
    v = _scan(tmp_path, VAR_PORTS, ["db_ports=[]"])["NET-03"]
    assert v.status == "pass", v.message


def test_a_collection_not_known_statically_stays_an_unknown_fact(tmp_path):
    text = VAR_PORTS.replace('  default     = [5432]\n', '')
    v = _scan(tmp_path, text)["NET-03"]
    assert v.status == "error", v.message
    assert "port.value" in v.message or "db_ports" in v.message


# The forms registry modules write around dynamic blocks: a for-expression filtering or keying
# the rule objects, and an optional block behind a conditional (`var.x ? [1] : []`, a null default).
REGISTRY_STYLE = '''
variable "ingress_rules" {
  type = list(object({ port = number, protocol = string, cidrs = list(string), enabled = bool }))
  default = [
    { port = 5432, protocol = "tcp", cidrs = ["10.0.0.0/16"], enabled = true },
    { port = 22, protocol = "tcp", cidrs = ["0.0.0.0/0"], enabled = false },
  ]
}

variable "extra_cidr" {
  type    = string
  default = null
}

variable "create_monitoring_rule" {
  type    = bool
  default = false
}

resource "aws_security_group" "db" {
  name   = "platform-db"
  vpc_id = aws_vpc.main.id

  dynamic "ingress" {
    for_each = { for r in var.ingress_rules : "${r.port}-${r.protocol}" => r if r.enabled }
    content {
      from_port   = ingress.value.port
      to_port     = ingress.value.port
      protocol    = ingress.value.protocol
      cidr_blocks = ingress.value.cidrs
    }
  }

  dynamic "ingress" {
    for_each = var.extra_cidr != null ? [var.extra_cidr] : []
    content {
      from_port   = 5432
      to_port     = 5432
      protocol    = "tcp"
      cidr_blocks = [ingress.value]
    }
  }

  dynamic "ingress" {
    for_each = var.create_monitoring_rule ? [1] : []
    content {
      from_port   = 9187
      to_port     = 9187
      protocol    = "tcp"
      cidr_blocks = ["10.0.0.0/16"]
    }
  }
}
'''


def test_for_expressions_and_conditionals_as_registry_modules_write_them(tmp_path):
    v = _scan(tmp_path, REGISTRY_STYLE)["NET-03"]
    assert v.status == "pass", v.message  # the disabled SSH rule and the two optional blocks make nothing
    v = _scan(tmp_path, REGISTRY_STYLE, ["create_monitoring_rule=true"], name="monitoring")["NET-03"]
    assert v.status == "fail" and "9187" in v.message, v.message
    v = _scan(tmp_path, REGISTRY_STYLE, ["extra_cidr=0.0.0.0/0"], name="extra")["NET-03"]
    assert v.status == "fail" and "0.0.0.0/0" in v.message, v.message
    enabled = REGISTRY_STYLE.replace("cidrs = [\"0.0.0.0/0\"], enabled = false", "cidrs = [\"0.0.0.0/0\"], enabled = true")
    v = _scan(tmp_path, enabled, name="ssh")["NET-03"]
    assert v.status == "fail" and "22" in v.message, v.message


def test_a_condition_over_a_value_not_known_stays_unknown(tmp_path):
    text = REGISTRY_STYLE.replace('variable "create_monitoring_rule" {\n  type    = bool\n  default = false\n}',
                                  'variable "create_monitoring_rule" {\n  type = bool\n}')
    v = _scan(tmp_path, text)["NET-03"]
    assert v.status == "error", v.message
    # named by its for_each, not judged on checkov's guess at its content (port 1, or the literal 9187)
    assert "for_each = var.create_monitoring_rule ? [1] : []" in v.message, v.message


def test_the_small_evaluator_on_its_own():
    from asbuilt.static.tfdynamic import evaluate

    values = {"rules": [{"port": 5432, "on": True}, {"port": 22, "on": False}], "on": True, "none": None, "y": ["a"]}

    def var(name):
        return values[name]  # KeyError: no value

    assert evaluate("[for r in var.rules : r.port if r.on]", "/nonexistent", var) == [5432]
    assert evaluate('{for r in var.rules : "p${r.port}" => r.port}', "/nonexistent", var) == {"p5432": 5432, "p22": 22}
    assert evaluate("var.none != null ? [var.none] : []", "/nonexistent", var) == []
    assert evaluate("length(var.y) > 0 ? toset(var.y) : toset([])", "/nonexistent", var) == ["a"]
    assert evaluate("!var.on ? [1] : []", "/nonexistent", var) == []
    assert evaluate("true || false && false ? [1] : []", "/nonexistent", var) == [1]  # && binds tighter
    assert evaluate("var.missing ? [1] : []", "/nonexistent", var) is None
    assert evaluate("[for r in var.rules : upper(r.name)]", "/nonexistent", var) is None  # a function it does not know
    assert evaluate('{for r in var.rules : "same" => r}', "/nonexistent", var) is None  # duplicate keys: an error
