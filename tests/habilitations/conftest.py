import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from habilitations import services
from onco_hdf.models import Role
from onco_hdf.signatures import Credentials
from tests.conftest import PASSWORD, make_user, otp_code
from tests.habilitations.factories import catalogue, make_sheet


def reauth(user) -> Credentials:
    """The signer's password again, and the current code where they have an authenticator."""
    has_device = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return Credentials(password=PASSWORD, otp_token=otp_code(user) if has_device else "")


@pytest.fixture
def version(db):
    return catalogue()


@pytest.fixture
def head_b(centre_b):
    return make_user("head_b", Role.HEAD_OF_DEPARTMENT, centre_b)


@pytest.fixture
def second_head_a(centre_a):
    return make_user("second_head_a", Role.HEAD_OF_DEPARTMENT, centre_a)


@pytest.fixture
def validated(  # an active sheet: submitted, validated by head and region
    oncologist_a, head_a, pm, centre_a, version
):
    oncologist_a.first_name, oncologist_a.last_name = "Julien", "Bernard"
    oncologist_a.save()
    head_a.first_name, head_a.last_name = "Hélène", "Petit"
    head_a.save()
    sheet = make_sheet(oncologist_a, centre_a, cases=14)
    services.sheet_transition(sheet=sheet, user=oncologist_a, action="submit")
    grants = {line.pk: services.Grant(level=line.level_requested) for line in sheet.lines.all()}
    services.sheet_validate_head(
        sheet=sheet, user=head_a, grants=grants, comment="Conforme", credentials=reauth(head_a)
    )
    services.sheet_sign(sheet=sheet, user=pm, step="regional", credentials=reauth(pm))
    services.sheet_transition(sheet=sheet, user=head_a, action="activate")
    sheet.refresh_from_db()
    return sheet
