from django.urls import path

from . import views

app_name = "tenants"

urlpatterns = [
    # /app/<company>/ itself is the inbox (tickets:inbox); the overview moved here.
    path("overview/", views.home, name="home"),
    path("members/", views.members, name="members"),
    path("members/<int:membership_id>/", views.member_update, name="member-update"),
]
