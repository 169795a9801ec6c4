from django.urls import path

from . import inbox_views

app_name = "tickets"

urlpatterns: list = [
    path("", inbox_views.inbox, name="inbox"),
    path("inbox/sound/", inbox_views.sound_toggle, name="sound"),
    path("tickets/<int:number>/", inbox_views.ticket_detail, name="detail"),
    path("tickets/<int:number>/items/", inbox_views.ticket_items, name="items"),
    path("tickets/<int:number>/read/", inbox_views.ticket_read, name="read"),
    path("tickets/<int:number>/reply/", inbox_views.ticket_reply, name="reply"),
    path("tickets/<int:number>/act/", inbox_views.ticket_action, name="act"),
]
