import pytest

from onco_hdf.models import Role
from tests.conftest import make_user
from tests.habilitations.factories import catalogue


@pytest.fixture
def version(db):
    return catalogue()


@pytest.fixture
def head_b(centre_b):
    return make_user("head_b", Role.HEAD_OF_DEPARTMENT, centre_b)


@pytest.fixture
def second_head_a(centre_a):
    return make_user("second_head_a", Role.HEAD_OF_DEPARTMENT, centre_a)
