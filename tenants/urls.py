from django.urls import path

from . import views

app_name = "tenants"

urlpatterns = [
    path("", views.home, name="home"),
    path("members/", views.members, name="members"),
    path("members/<int:membership_id>/", views.member_update, name="member-update"),
]
