from flask.testing import FlaskClient


def test_anonymous_visitor_is_sent_to_the_login_page(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_login_page_speaks_french_and_forbids_framing(client: FlaskClient) -> None:
    response = client.get("/connexion")
    assert response.status_code == 200
    assert "Mot de passe" in response.get_data(as_text=True)
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
