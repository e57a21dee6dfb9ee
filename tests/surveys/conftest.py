import pytest

from surveys.services import Actor
from tests.surveys.factories import CampaignFactory, invite


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """Personas are created per test: a fast hasher keeps the suite within its budget."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def campaign(centre_a, centre_b):
    campaign = CampaignFactory()
    campaign.centres.set([centre_a, centre_b])
    return campaign


@pytest.fixture
def invitation(campaign, centre_a):
    return invite(campaign, centre_a)


@pytest.fixture
def token(invitation):
    return invitation[1]


@pytest.fixture
def actor(invitation):
    return Actor.for_invitation(invitation[0])
