"""asbuilt's checkov custom checks, generated from the control units (asbuilt/controls/).

Each static control's unit says where it anchors (Terraform and CloudFormation resource types,
Kubernetes kinds, or a file kind checkov has no runner for) and which evidence it reads there;
``asbuilt.static.checkbase`` turns each into a checkov check with id ``ASB_<control>``
(``ASB_VER_01``) whose name leads with the control ID. Nothing here restates a rule or a
threshold.

asbuilt loads them itself (``asbuilt static``, ``asbuilt run``). Teams with a checkov pipeline
can add them to it: ``checkov -d DIR --external-checks-dir checks/aws`` (Terraform and
CloudFormation) or ``--external-checks-dir checks/kubernetes``; run that way each check sees
one resource at a time, so cross-resource facts are unknown there and such checks answer
UNKNOWN rather than pass.
"""
