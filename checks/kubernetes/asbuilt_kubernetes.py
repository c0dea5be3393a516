"""The Kubernetes checks of every asbuilt control unit, for checkov's
``--external-checks-dir checks/kubernetes`` (see checks/__init__.py)."""

from asbuilt.static.checkbase import register_for_checkov

register_for_checkov("kubernetes")
