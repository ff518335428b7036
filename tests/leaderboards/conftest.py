import pytest


@pytest.fixture
def quarters(make_unit, tree):
    """Three more quarters of W1, of 500, 5,000 and 2,000 adults."""
    return {
        "QA": make_unit("QA", "quarter", tree["W1"], adult_population=500),
        "QB": make_unit("QB", "quarter", tree["W1"], adult_population=5000),
        "QC": make_unit("QC", "quarter", tree["W1"], adult_population=2000),
    }
