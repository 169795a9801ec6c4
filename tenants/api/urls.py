from django.urls import path

from . import views

urlpatterns = [
    path("", views.CompanyDetailView.as_view(), name="company-detail"),
    path("members/", views.MemberListView.as_view(), name="member-list"),
    path("members/<int:membership_id>/", views.MemberDetailView.as_view(), name="member-detail"),
]
