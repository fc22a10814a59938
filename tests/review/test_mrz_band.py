"""The dossier page outlines the MRZ band where the reader found it (issue 15, point 1): the
reading's location, in fractions of the page, becomes a box in percent over the image."""

from __future__ import annotations

from ra_workbench.review.page import MrzBox, mrz_box


def test_band_read_on_the_second_page_is_placed_in_percent_of_that_page() -> None:
    mrz = {
        "location": {
            "page": 2,
            "bbox": [121, 673, 1052, 80],
            "bbox_fraction": [0.0907, 0.7648, 0.7886, 0.0909],
        }
    }
    assert mrz_box(mrz) == MrzBox(page=2, left=9.07, top=76.48, width=78.86, height=9.09)


def test_reading_kept_before_page_sizes_were_stored_gets_no_box_rather_than_a_guess() -> None:
    assert mrz_box({"location": {"page": 1, "rotation": 0, "bbox": [121, 673, 1052, 80]}}) is None
    assert mrz_box({}) is None
    assert mrz_box({"location": {"bbox_fraction": [0.1, 0.8, 0, 0.1]}}) is None
    assert mrz_box({"location": {"bbox_fraction": ["a", 0.8, 0.5, 0.1]}}) is None
