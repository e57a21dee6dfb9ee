"""Writes of the foundation: centres, users and memberships."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from onco_hdf.models import REGIONAL_ROLES, Centre, Membership
from onco_hdf.permissions import forget_memberships

User = get_user_model()


@transaction.atomic
def centre_save(*, centre: Centre) -> Centre:
    """Create or update a centre (validated by its form); history records who and what."""
    centre.full_clean()
    centre.save()
    return centre


@transaction.atomic
def membership_create(*, user, role: str, centre: Centre | None) -> Membership:
    if role in REGIONAL_ROLES and centre is not None:
        raise ValidationError(_("A regional role is not attached to a centre."))
    if role not in REGIONAL_ROLES and centre is None:
        raise ValidationError(_("This role needs a centre."))
    if Membership.objects.filter(user=user, role=role, centre=centre).exists():
        raise ValidationError(_("This user already has this role here."))
    try:
        with transaction.atomic():
            membership = Membership.objects.create(user=user, role=role, centre=centre)
    except IntegrityError as error:
        raise ValidationError(_("This user already has this role here.")) from error
    forget_memberships(user)
    return membership


@transaction.atomic
def membership_delete(*, membership: Membership) -> None:
    user = membership.user
    membership.delete()
    forget_memberships(user)


def user_invite(*, email: str, first_name: str, last_name: str, request) -> User:
    """Create an account without a usable password and e-mail a link to choose one."""
    with transaction.atomic():
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError(_("An account already uses this e-mail address."))
        username = email.lower()
        user = User(username=username, email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.full_clean(exclude=["password"])
        user.save()
    # Django's reset form skips users without a usable password; send to this one directly.
    form = PasswordResetForm(data={"email": email})
    form.is_valid()
    form.send_mail(
        subject_template_name="registration/account_invitation_subject.txt",
        email_template_name="registration/account_invitation_email.txt",
        context=_invitation_context(user, request),
        from_email=None,
        to_email=email,
    )
    return user


def _invitation_context(user, request) -> dict:
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return {
        "user": user,
        "protocol": "https" if request.is_secure() else "http",
        "domain": request.get_host(),
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),
    }
