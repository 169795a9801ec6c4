"""The bench's baseline: POST any webhook URL -> insert the raw body as one row. Not shipped."""

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from atende.health import healthz

TABLE = "bench_minimal_row"


@csrf_exempt
def minimal(request: HttpRequest, kind: str, public_id: str) -> JsonResponse:
    body = request.read()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (kind, body) VALUES (%s, %s) RETURNING id",  # noqa: S608
            [kind, body],
        )
        row = cursor.fetchone()
    return JsonResponse({"status": "processed", "event": row[0] if row else None})


urlpatterns = [
    path("healthz", healthz),  # the bench waits on it, as for the product
    path("webhooks/<slug:kind>/<str:public_id>/", minimal),
]
