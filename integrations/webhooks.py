"""The one generic webhook endpoint for every platform (filled in by the pipeline work)."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt


@csrf_exempt
def receive(request: HttpRequest, kind: str, public_id: str) -> HttpResponse:
    return JsonResponse({"error": "not found"}, status=404)
