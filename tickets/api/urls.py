from django.urls import path

from . import views

urlpatterns = [
    path("tickets/", views.TicketListView.as_view(), name="ticket-list"),
    path("tickets/counts/", views.TicketCountsView.as_view(), name="ticket-counts"),
    path("tickets/web/", views.WebTicketCreateView.as_view(), name="ticket-web-create"),
    path("tickets/<int:number>/", views.TicketDetailView.as_view(), name="ticket-detail"),
    path(
        "tickets/<int:number>/timeline/",
        views.TicketTimelineView.as_view(),
        name="ticket-timeline",
    ),
    path("tickets/<int:number>/accept/", views.AcceptView.as_view(), name="ticket-accept"),
    path("tickets/<int:number>/assign/", views.AssignView.as_view(), name="ticket-assign"),
    path("tickets/<int:number>/transfer/", views.TransferView.as_view(), name="ticket-transfer"),
    path("tickets/<int:number>/resolve/", views.ResolveView.as_view(), name="ticket-resolve"),
    path("tickets/<int:number>/reopen/", views.ReopenView.as_view(), name="ticket-reopen"),
    path("tickets/<int:number>/priority/", views.PriorityView.as_view(), name="ticket-priority"),
    path("tickets/<int:number>/tags/", views.TagsView.as_view(), name="ticket-tags"),
    path("tickets/<int:number>/pause-ai/", views.PauseAIView.as_view(), name="ticket-pause-ai"),
    path("tickets/<int:number>/resume-ai/", views.ResumeAIView.as_view(), name="ticket-resume-ai"),
    path("queues/", views.QueueListView.as_view(), name="queue-list"),
    path("queues/<int:queue_id>/", views.QueueDetailView.as_view(), name="queue-detail"),
    path("quick-replies/", views.QuickReplyListView.as_view(), name="quick-reply-list"),
    path(
        "quick-replies/<int:reply_id>/",
        views.QuickReplyDetailView.as_view(),
        name="quick-reply-detail",
    ),
    path("scheduled-messages/", views.ScheduledListView.as_view(), name="scheduled-message-list"),
    path(
        "scheduled-messages/<int:scheduled_id>/",
        views.ScheduledDetailView.as_view(),
        name="scheduled-message-detail",
    ),
]
