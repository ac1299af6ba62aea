from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from exchange import document
from projects import policy
from projects.policy import Action


@require_GET
@login_required
def project_export_download(request: HttpRequest, pk: int) -> HttpResponse:
    """The project with everything that belongs to it as JSON, for `manage.py project_import`:
    its managers' (it names every member and carries the gates' audit trails)."""
    project = policy.get_project_for(request.user, pk, action=Action.MANAGE)
    response = JsonResponse(
        document.project_export(project=project), json_dumps_params={"ensure_ascii": False}
    )
    response["Content-Disposition"] = f'attachment; filename="{project.code}.json"'
    return response
