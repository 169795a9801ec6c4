from __future__ import annotations

from django.core.exceptions import ValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework_simplejwt.views import TokenObtainPairView

from .. import selectors, services
from ..access import CompanyAPIMixin, active_memberships
from ..models import Membership, Role
from .serializers import (
    CompanySerializer,
    EmailTokenObtainSerializer,
    MemberSerializer,
    MeSerializer,
)


class TokenObtainView(TokenObtainPairView):
    """Exchange email + password for an access and a refresh token."""

    serializer_class = EmailTokenObtainSerializer
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "token"


class MeView(generics.RetrieveUpdateAPIView):
    """The authenticated user and the companies they belong to."""

    serializer_class = MeSerializer

    def get_object(self):  # type: ignore[no-untyped-def]
        return self.request.user


class CompanyListView(generics.ListAPIView):
    """Companies the authenticated user is an active member of."""

    serializer_class = CompanySerializer
    pagination_class = None

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return [m.company for m in active_memberships(self.request.user)]


class CompanyDetailView(CompanyAPIMixin, generics.GenericAPIView):
    serializer_class = CompanySerializer

    @extend_schema(responses=CompanySerializer)
    def get(self, request: Request, company_slug: str) -> Response:
        return Response(CompanySerializer(self.company).data)


class MemberListView(CompanyAPIMixin, generics.ListCreateAPIView):
    """Members of the company. Admins add members by email."""

    serializer_class = MemberSerializer
    queryset = Membership.objects.all()
    min_role = Role.SUPERVISOR
    write_role = Role.ADMIN

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.company_members(company=self.company)

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            membership, _created = services.member_add(
                company=self.company,
                email=serializer.validated_data["email"],
                role=serializer.validated_data.get("role", Role.AGENT),
                full_name=serializer.validated_data.get("full_name", ""),
                actor=request.user,
            )
        except ValidationError as exc:
            return Response({"detail": exc.messages}, status=status.HTTP_400_BAD_REQUEST)
        return Response(MemberSerializer(membership).data, status=status.HTTP_201_CREATED)


class MemberDetailView(CompanyAPIMixin, generics.RetrieveUpdateAPIView):
    serializer_class = MemberSerializer
    queryset = Membership.objects.select_related("user")
    min_role = Role.SUPERVISOR
    write_role = Role.ADMIN
    lookup_url_kwarg = "membership_id"

    def perform_update(self, serializer: MemberSerializer) -> None:  # type: ignore[override]
        data = serializer.validated_data
        serializer.instance = services.member_update(
            membership=serializer.instance,  # type: ignore[arg-type]
            role=data.get("role"),
            is_active=data.get("is_active"),
            max_open_tickets=data.get("max_open_tickets"),
            actor=self.request.user,
        )
