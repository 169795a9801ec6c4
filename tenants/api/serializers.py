from __future__ import annotations

from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer

from ..models import Company, Membership, Role, User


class CompanySerializer(serializers.ModelSerializer):
    class Meta:
        model = Company
        fields = ["id", "name", "slug", "is_active", "timezone", "language"]
        read_only_fields = fields


class MyMembershipSerializer(serializers.ModelSerializer):
    company = CompanySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ["company", "role", "is_active"]


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "full_name", "language"]
        read_only_fields = ["id", "email"]


class MeSerializer(UserSerializer):
    memberships = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "is_superuser", "memberships"]
        read_only_fields = [*UserSerializer.Meta.read_only_fields, "is_superuser", "memberships"]

    def get_memberships(self, user: User) -> list[dict]:
        qs = user.memberships.select_related("company").filter(
            is_active=True, company__is_active=True
        )
        return MyMembershipSerializer(qs, many=True).data  # type: ignore[return-value]


class MemberSerializer(serializers.ModelSerializer):
    user = UserSerializer(read_only=True)
    email = serializers.EmailField(write_only=True, required=False)
    full_name = serializers.CharField(write_only=True, required=False, allow_blank=True)

    class Meta:
        model = Membership
        fields = [
            "id",
            "user",
            "email",
            "full_name",
            "role",
            "is_active",
            "max_open_tickets",
            "created_at",
        ]
        read_only_fields = ["id", "user", "created_at"]

    def validate(self, attrs: dict) -> dict:
        if self.instance is None and not attrs.get("email"):
            raise serializers.ValidationError({"email": _("This field is required.")})
        return attrs

    def validate_role(self, value: str) -> str:
        if value not in Role.values:
            raise serializers.ValidationError(_("Unknown role."))
        return value


class EmailTokenObtainSerializer(TokenObtainPairSerializer):
    """email + password -> access + refresh. Inactive users get the same error as a bad
    password, so the endpoint tells nothing about which accounts exist."""

    username_field = "email"

    def validate(self, attrs: dict) -> dict:
        user = authenticate(
            request=self.context.get("request"),
            email=attrs.get("email", "").lower(),
            password=attrs.get("password"),
        )
        if user is None or not user.is_active:
            from rest_framework_simplejwt.exceptions import AuthenticationFailed

            raise AuthenticationFailed(str(_("Email or password is wrong.")), "no_active_account")
        refresh = self.get_token(user)
        return {"refresh": str(refresh), "access": str(refresh.access_token)}  # type: ignore[attr-defined]
