"""asbuilt's checkov custom checks: one file per static control of the reference architecture.

Each file declares its control with ``asbuilt.static.checkbase.control_check``: the resources it
anchors on (Terraform types, CloudFormation types, Kubernetes kinds, or a file kind checkov has no
runner for), the facts function that reads the evidence out of the whole-set model, and the rule
of ``asbuilt.rules`` that judges it (the same function the live scenarios call). The checkov
check id is ``ASB_<control>`` (``ASB_VER_01``); the control ID leads its name.

Loaded by asbuilt (``asbuilt static``, ``asbuilt run``), or by plain checkov with
``--external-checks-dir checks/aws`` (etc.), where cross-resource facts are not available.
"""
