import pytest

from surveys.services import Actor
from tests.surveys.factories import CampaignFactory, invite


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


@pytest.fixture
def centre_c(db):
    from onco_hdf.models import Centre

    return Centre.objects.create(
        name="Centre C (test)",
        short_name="C",
        finess="620000003",
        city="Arras",
        departement="62",
        sector="espic",
    )


@pytest.fixture
def dataset(campaign, centre_a, centre_b, centre_c):
    """Three submitted responses with known answers (the numbers tests check by hand)."""
    from surveys import services
    from tests.surveys.factories import DATASET, post

    campaign.centres.add(centre_c)
    campaign.cross_tabs = [["Q1", "SECTOR"], ["Q1", "Y1"]]
    campaign.save()
    for centre in (centre_a, centre_b, centre_c):
        invitation, _token = invite(campaign, centre, f"ref@{centre.short_name}.example.org")
        actor = Actor.for_invitation(invitation)
        response = services.response_open(campaign=campaign, centre=centre, actor=actor)
        for section, data in DATASET[centre.short_name].items():
            result = services.response_save_section(
                response=response, section_code=section, data=post(data), actor=actor
            )
            assert not result.errors, result.errors
        services.response_submit(response=response, actor=actor)
    return campaign
