from django.urls import path

from . import inbox_views, views

app_name = "tickets"

urlpatterns: list = [
    # Ticket workflow pages (tickets/views.py).
    path("tickets/new/", views.web_new, name="web-new"),
    path("my-tickets/", views.my_tickets, name="my-tickets"),
    path("my-tickets/<int:number>/", views.my_ticket, name="my-ticket"),
    path("my-tickets/<int:number>/thread/", views.my_ticket_thread, name="my-ticket-thread"),
    path("queues/", views.queues, name="queues"),
    path("queues/new/", views.queue_edit, name="queue-new"),
    path("queues/<int:queue_id>/", views.queue_edit, name="queue-edit"),
    path("queues/<int:queue_id>/delete/", views.queue_delete, name="queue-delete"),
    path("business-hours/", views.company_hours, name="company-hours"),
    path("quick-replies/", views.quick_reply_list, name="quick-replies"),
    path(
        "quick-replies/<int:reply_id>/delete/", views.quick_reply_delete, name="quick-reply-delete"
    ),
    # The live inbox and ticket page (tickets/inbox_views.py).
    path("", inbox_views.inbox, name="inbox"),
    path("inbox/sound/", inbox_views.sound_toggle, name="sound"),
    path("inbox/quick-replies/", inbox_views.quick_replies, name="quick-reply-search"),
    path("tickets/<int:number>/", inbox_views.ticket_detail, name="detail"),
    path("tickets/<int:number>/items/", inbox_views.ticket_items, name="items"),
    path("tickets/<int:number>/read/", inbox_views.ticket_read, name="read"),
    path("tickets/<int:number>/reply/", inbox_views.ticket_reply, name="reply"),
    path("tickets/<int:number>/act/", inbox_views.ticket_action, name="act"),
]
