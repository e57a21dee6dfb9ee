import pytest

from onco_hdf.exports import safe_cell


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("+33 6 12", "'+33 6 12"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("Lille", "Lille"),
        ("", ""),
        (-3, -3),
        (None, None),
    ],
)
def test_safe_cell_neutralises_formulas_only(value, expected):
    assert safe_cell(value) == expected
