from django.urls import path

from . import views

app_name = "conversations"

urlpatterns = [
    path("conversations/", views.conversation_list, name="list"),
    path("conversations/<int:conversation_id>/", views.conversation_detail, name="detail"),
    path("conversations/<int:conversation_id>/reply/", views.conversation_reply, name="reply"),
    path("conversations/<int:conversation_id>/note/", views.conversation_note, name="note"),
    path("messages/<int:message_id>/retry/", views.message_retry_view, name="retry"),
]
