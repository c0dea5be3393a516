"""Static checks: checkov engine, flavours, broken fixtures, outputs."""
