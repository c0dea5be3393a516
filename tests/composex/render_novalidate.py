"""ecs-compose-x render with CloudFormation ValidateTemplate skipped (moto's rejects cfn-lint warnings)."""
import sys
import ecs_composex.common.files as files
files.validate_wrapper = lambda *a, **k: None
from ecs_composex.cli import main
sys.argv = ["ecs-compose-x", *sys.argv[1:]]
sys.exit(main())
