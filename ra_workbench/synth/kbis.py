"""Synthetic registry extracts: Extrait Kbis (company), Extrait K (individual trader),
attestation d'immatriculation au RNE, avis de situation SIRENE, as PDFs with a text layer
or as image-only scans.

The wording and layout follow the real documents (Infogreffe's Kbis: "Greffe du Tribunal
de Commerce de Nantes", "à jour au 6 novembre 2024", "Immatriculation au RCS, numéro
518 452 750 R.C.S. Nantes", the "GESTION, DIRECTION, ADMINISTRATION, CONTROLE, ASSOCIES OU
MEMBRES" section...). Seeded and reproducible: every random choice comes from the
`random.Random` passed in. Company and person names carry no accents (the portal forbids
them in declared fields); the printed labels do.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, replace
from datetime import date, timedelta

from reportlab.lib.units import mm

from ra_workbench.extraction.kbis.dates import french_date_words
from ra_workbench.extraction.kbis.identifiers import (
    format_siren,
    luhn_key,
    siren_is_valid,
)
from ra_workbench.synth.documents import Layout, scan_image, scan_pdf

KINDS = ("kbis", "extrait_k", "rne", "sirene")


@dataclass(frozen=True)
class Manager:
    """A person (or a company: empty given names) named in the management section."""

    role: str
    surname: str
    given_names: str


@dataclass(frozen=True)
class CompanyFacts:
    """What a registry extract states. `siren` "" renders as "En cours d'attribution"."""

    siren: str
    name: str
    legal_form: str
    address_line: str
    postcode: str
    city: str
    greffe: str
    managers: tuple[Manager, ...]
    updated_on: date
    kind: str = "kbis"


LEGAL_FORMS = {
    "SAS": "Société par actions simplifiée",
    "SASU": "Société par actions simplifiée à associé unique",
    "SARL": "Société à responsabilité limitée",
    "EURL": "Société à responsabilité limitée à associé unique",
    "SA": "Société anonyme à conseil d'administration",
    "SCI": "Société civile immobilière",
    "EI": "Entrepreneur individuel",
}
INSEE_CATEGORIES = {
    "SAS": "5710 - SAS, société par actions simplifiée",
    "SASU": "5720 - Société par actions simplifiée à associé unique",
    "SARL": "5499 - Société à responsabilité limitée (sans autre indication)",
    "EURL": "5498 - SARL unipersonnelle",
    "SA": "5599 - SA à conseil d'administration (s.a.i.)",
    "SCI": "6540 - Société civile immobilière",
    "EI": "1000 - Entrepreneur individuel",
}
# Roles by legal form: (mandatory roles, optional roles).
ROLES = {
    "SAS": (("Président",), ("Directeur général", "Directeur général délégué")),
    "SASU": (("Président",), ("Directeur général",)),
    "SARL": (("Gérant",), ("Gérant", "Associé")),
    "EURL": (("Gérant",), ()),
    "SA": (
        ("Président du conseil d'administration", "Directeur général", "Administrateur"),
        ("Directeur général délégué", "Administrateur"),
    ),
    "SCI": (("Gérant",), ("Associé", "Associé")),
}
SURNAMES = (
    "MARTIN", "BERNARD", "DUBOIS", "THOMAS", "ROBERT", "RICHARD", "PETIT", "DURAND", "LEROY",
    "MOREAU", "SIMON", "LAURENT", "LEFEBVRE", "MICHEL", "GARCIA", "DAVID", "BERTRAND", "ROUX",
    "VINCENT", "FOURNIER", "MOREL", "GIRARD", "ANDRE", "LEFEVRE", "MERCIER", "DUPONT",
    "LAMBERT", "BONNET", "FRANCOIS", "MARTINEZ", "LEGRAND", "GARNIER", "FAURE", "ROUSSEAU",
    "BLANC", "GUERIN", "MULLER", "HENRY", "ROUSSEL", "NICOLAS", "PERRIN", "MORIN", "MATHIEU",
    "CLEMENT", "GAUTHIER", "DUMONT", "LOPEZ", "FONTAINE", "CHEVALIER", "ROBIN", "KERGUELEN",
    "LE GALL", "DE LA FONTAINE", "SAINT-ANDRE", "N'DIAYE", "VAN DER BERG", "LE BRIS",
)  # fmt: skip
GIVEN_NAMES = (
    "Paul", "Claire", "Jean", "Marie", "Pierre", "Anne", "Michel", "Sophie", "Nicolas",
    "Julie", "Thomas", "Camille", "Francois", "Helene", "Antoine", "Celine", "Julien",
    "Isabelle", "Laurent", "Nathalie", "Olivier", "Valerie", "Eric", "Sandrine", "Yann",
    "Gaelle", "Jean-Pierre", "Marie-Claire", "Loic", "Agnes", "Herve", "Noemie", "Benoit",
)  # fmt: skip
NAME_WORDS = (
    "ATELIERS", "TRANSPORTS", "BOULANGERIE", "CABINET", "GARAGE", "MENUISERIE", "CONSEIL",
    "INFORMATIQUE", "SERVICES", "IMMOBILIER", "DISTRIBUTION", "BATIMENT", "ELECTRICITE",
    "PLOMBERIE", "INGENIERIE", "LOGISTIQUE", "AGENCE", "STUDIO", "HOLDING", "EXPERTISE",
)  # fmt: skip
PLACES = ("OUEST", "ATLANTIQUE", "DU LAC", "DES ALPES", "BRETAGNE", "DU MIDI", "DE LOIRE", "NORD")
AUDITORS = (
    "AUDIT CONSEIL OUEST", "KPMG AUDIT", "EXCO ATLANTIQUE", "FIDUCIAIRE DU LAC",
    "MAZARS ET ASSOCIES", "SOCIETE D'EXPERTISE COMPTABLE ROCHE",
)  # fmt: skip
STREETS = (
    "rue des Lilas", "avenue Foch", "boulevard Victor Hugo", "rue de la Republique",
    "quai de la Fosse", "allee des Tanneurs", "rue du General de Gaulle", "place du Marche",
    "impasse des Vignes", "chemin de la Garenne", "rue Jean Jaures", "route de Vannes",
)  # fmt: skip
# (greffe, postcode of the registered office, town of the registered office)
GREFFES = (
    ("Nantes", "44000", "Nantes"), ("Nantes", "44800", "Saint-Herblain"),
    ("Lyon", "69003", "Lyon"), ("Lyon", "69100", "Villeurbanne"), ("Rennes", "35000", "Rennes"),
    ("Paris", "75011", "Paris"), ("Bordeaux", "33000", "Bordeaux"),
    ("Lille Métropole", "59000", "Lille"), ("Créteil", "94000", "Creteil"),
    ("Toulouse", "31000", "Toulouse"), ("Saint-Nazaire", "44600", "Saint-Nazaire"),
    ("Aix-en-Provence", "13100", "Aix-en-Provence"), ("Nîmes", "30000", "Nimes"),
)  # fmt: skip
ACTIVITIES = (
    "Conseil en systèmes et logiciels informatiques",
    "Travaux de menuiserie bois et PVC",
    "Transports routiers de fret de proximité",
    "Boulangerie, pâtisserie, vente de produits alimentaires",
    "Activités des sociétés holding",
    "Location de logements",
    "Ingénierie, études techniques",
)


def siren_luhn_valid(siren: str) -> bool:
    return siren_is_valid(siren)


def make_siren(rng: random.Random) -> str:
    """A random SIREN with a valid Luhn key (never La Poste's)."""
    head = str(rng.randint(1, 9)) + "".join(str(rng.randrange(10)) for _ in range(7))
    return head + luhn_key(head)


def _person(rng: random.Random, role: str) -> Manager:
    count = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
    given = " ".join(rng.sample(GIVEN_NAMES, count))
    return Manager(role, rng.choice(SURNAMES), given)


def _company_name(rng: random.Random, surname: str) -> str:
    pattern = rng.randrange(5)
    word = rng.choice(NAME_WORDS)
    if pattern == 0:
        return f"{word} {surname}"
    if pattern == 1:
        return f"{surname} {word}"
    if pattern == 2:
        return f"{word} {rng.choice(PLACES)}"
    if pattern == 3:
        return f"{surname} & FILS"
    return (
        f"L'{word} {rng.choice(PLACES)}" if word[0] in "AEIOU" else f"{word} {surname} ET ASSOCIES"
    )


def random_company(
    rng: random.Random,
    *,
    updated_on: date,
    legal_representative: tuple[str, str] | None = None,
    kind: str = "kbis",
) -> CompanyFacts:
    """A plausible company. `legal_representative` is (surname, given_names), e.g.
    ("MOREL", "PAUL"): that person becomes the first manager (Président, Gérant...).
    For `kind` "extrait_k" the company is an individual trader (legal form EI)."""
    if kind not in KINDS:
        raise ValueError(f"unknown extract kind {kind!r}")
    greffe, postcode, city = rng.choice(GREFFES)
    if kind == "extrait_k":
        legal_form = "EI"
        roles: list[str] = ["Entrepreneur individuel"]
    else:
        legal_form = rng.choice(("SAS", "SAS", "SASU", "SARL", "SARL", "EURL", "SA", "SCI"))
        mandatory, optional = ROLES[legal_form]
        roles = list(mandatory) + [r for r in optional if rng.random() < 0.4]
    managers = [_person(rng, role) for role in roles]
    if legal_representative is not None:
        surname, given = legal_representative
        managers[0] = Manager(managers[0].role, surname.upper(), given.title())
    if legal_form in ("SAS", "SA", "SARL") and kind != "extrait_k" and rng.random() < 0.5:
        managers.append(Manager("Commissaire aux comptes titulaire", rng.choice(AUDITORS), ""))
    name = _company_name(rng, managers[0].surname)
    address = f"{rng.randint(1, 140)} {rng.choice(STREETS)}"
    return CompanyFacts(
        siren=make_siren(rng),
        name=name,
        legal_form=legal_form,
        address_line=address,
        postcode=postcode,
        city=city,
        greffe=greffe,
        managers=tuple(managers),
        updated_on=updated_on,
        kind=kind,
    )


def printed_managers(facts: CompanyFacts) -> tuple[Manager, ...]:
    """The managers the document shows: an avis de situation SIRENE shows none."""
    return () if facts.kind == "sirene" else facts.managers


# -- rendering --------------------------------------------------------------------------------


def _full_name(manager: Manager, rng: random.Random) -> str:
    """ "MOREL Paul, Henri" or "MOREL Paul Henri": surname in capitals, then given names."""
    given = [g.title() for g in manager.given_names.split()]
    separator = ", " if rng.random() < 0.4 else " "
    return f"{manager.surname} {separator.join(given)}"


def _birth(rng: random.Random, updated_on: date) -> str:
    born = updated_on - timedelta(days=rng.randint(22 * 365, 70 * 365))
    town, department = rng.choice(
        (("Lyon", "69"), ("Nantes", "44"), ("Rennes", "35"), ("Brest", "29"), ("Paris", "75"))
    )
    return f"Le {born:%d/%m/%Y} à {town} ({department})"


def _verification_code(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(10))


def _rcs_value(facts: CompanyFacts, rng: random.Random) -> str:
    if not facts.siren:
        return "En cours d'attribution"
    if rng.random() < 0.12:
        return f"RCS {facts.greffe} B {format_siren(facts.siren)}"
    return f"{format_siren(facts.siren)} R.C.S. {facts.greffe}"


def _updated(facts: CompanyFacts, rng: random.Random) -> str:
    if rng.random() < 0.2:
        return f"{facts.updated_on:%d/%m/%Y}"
    return french_date_words(facts.updated_on)


def _registered(facts: CompanyFacts, rng: random.Random) -> date:
    return facts.updated_on - timedelta(days=rng.randint(200, 9000))


def _greffe_header(facts: CompanyFacts, rng: random.Random) -> tuple[tuple[str, str], ...]:
    code = _verification_code(rng)
    return (
        (f"Greffe du Tribunal de Commerce de {facts.greffe}", f"Code de vérification : {code}"),
        (f"{rng.randint(1, 40)} quai François Mitterrand", "https://www.infogreffe.fr/controle"),
        (f"N° de gestion {rng.randint(1990, 2023)}B{rng.randint(100, 99999):05d}", ""),
    )


def _management_rows(layout: Layout, facts: CompanyFacts, rng: random.Random) -> None:
    layout.add("heading", "GESTION, DIRECTION, ADMINISTRATION, CONTROLE, ASSOCIES OU MEMBRES")
    for manager in facts.managers:
        layout.add("role", manager.role)
        if manager.given_names:
            layout.add("row", "Nom, prénoms", _full_name(manager, rng))
            layout.add("row", "Date et lieu de naissance", _birth(rng, facts.updated_on))
            layout.add("row", "Nationalité", "Française")
            layout.add(
                "row",
                "Domicile personnel",
                f"{rng.randint(1, 90)} {rng.choice(STREETS)} {facts.postcode} {facts.city}",
            )
        else:
            layout.add("row", "Dénomination", manager.surname)
            layout.add("row", "Forme juridique", LEGAL_FORMS["SAS"])
            layout.add("row", "Adresse", f"{rng.randint(1, 90)} {rng.choice(STREETS)} 75008 Paris")
            layout.add(
                "row",
                "Immatriculation au RCS, numéro",
                f"{format_siren(make_siren(rng))} R.C.S. Paris",
            )


def _activity_rows(layout: Layout, facts: CompanyFacts, rng: random.Random) -> None:
    layout.add("heading", "RENSEIGNEMENTS RELATIFS A L'ACTIVITE ET A L'ETABLISSEMENT PRINCIPAL")
    if facts.kind == "extrait_k":
        layout.add("row", "Nom commercial", facts.name)
    layout.add(
        "row",
        "Adresse de l'établissement",
        f"{facts.address_line} {facts.postcode} {facts.city}",
    )
    layout.add("row", "Activité(s) exercée(s)", rng.choice(ACTIVITIES))
    layout.add("row", "Date de commencement d'activité", f"{_registered(facts, rng):%d/%m/%Y}")
    layout.add("row", "Origine du fonds ou de l'activité", "Création")
    layout.add("row", "Mode d'exploitation", "Exploitation directe")


def _kbis_layout(facts: CompanyFacts, rng: random.Random) -> Layout:
    personal = facts.kind == "extrait_k"
    layout = Layout(
        header=_greffe_header(facts, rng),
        footer=f"R.C.S. {facts.greffe} - {facts.updated_on:%d/%m/%Y} - "
        f"{rng.randint(8, 18):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
        title="Extrait K" if personal else "Extrait Kbis",
    )
    layout.add("title", "Extrait K" if personal else "Extrait Kbis")
    layout.add(
        "subtitle",
        "EXTRAIT D'IMMATRICULATION PRINCIPALE AU REGISTRE DU COMMERCE ET DES SOCIETES",
    )
    layout.add("subtitle", f"à jour au {_updated(facts, rng)}")
    layout.add("heading", "IMMATRICULATION")
    layout.add("row", "Immatriculation au RCS, numéro", _rcs_value(facts, rng))
    layout.add("row", "Date d'immatriculation", f"{_registered(facts, rng):%d/%m/%Y}")
    if personal:
        person = facts.managers[0]
        layout.add("heading", "RENSEIGNEMENTS RELATIFS A LA PERSONNE PHYSIQUE")
        layout.add("row", "Nom, prénoms", _full_name(person, rng))
        layout.add("row", "Date et lieu de naissance", _birth(rng, facts.updated_on))
        layout.add("row", "Nationalité", "Française")
        layout.add(
            "row",
            "Domicile personnel",
            f"{rng.randint(1, 90)} {rng.choice(STREETS)} {facts.postcode} {facts.city}",
        )
    else:
        capital = rng.choice((1000, 5000, 10000, 37000, 50000, 150000))
        layout.add("heading", "RENSEIGNEMENTS RELATIFS A LA PERSONNE MORALE")
        layout.add("row", "Dénomination ou raison sociale", facts.name)
        layout.add("row", "Forme juridique", LEGAL_FORMS[facts.legal_form])
        layout.add("row", "Capital social", f"{capital:,},00 Euros".replace(",", " ", 1))
        layout.add("row", "Adresse du siège", f"{facts.address_line} {facts.postcode} {facts.city}")
        layout.add("row", "Durée de la personne morale", "Jusqu'au 31/12/2099")
        layout.add("row", "Date de clôture de l'exercice social", "31 décembre")
        _management_rows(layout, facts, rng)
    _activity_rows(layout, facts, rng)
    layout.add("space")
    layout.add("right", "Le Greffier")
    layout.add("subtitle", "FIN DE L'EXTRAIT")
    return layout


def _rne_layout(facts: CompanyFacts, rng: random.Random) -> Layout:
    layout = Layout(
        header=(
            ("Institut national de la propriété industrielle", "INPI"),
            ("Registre national des entreprises", f"Réf. {_verification_code(rng)}"),
        ),
        footer=f"Attestation RNE - SIREN {format_siren(facts.siren or '')}",
        value_x=70 * mm,
        title="Attestation d'immatriculation",
    )
    layout.add("title", "ATTESTATION D'IMMATRICULATION")
    layout.add("subtitle", "AU REGISTRE NATIONAL DES ENTREPRISES (RNE)")
    layout.add("subtitle", f"Données à jour au {_updated(facts, rng)}")
    layout.add("heading", "IDENTITE DE L'ENTREPRISE")
    layout.add(
        "row", "SIREN :", format_siren(facts.siren) if facts.siren else "En cours d'attribution"
    )
    layout.add("row", "Date d'immatriculation au RNE :", f"{_registered(facts, rng):%d/%m/%Y}")
    layout.add("row", "Dénomination :", facts.name)
    layout.add("row", "Forme juridique :", LEGAL_FORMS[facts.legal_form])
    layout.add("row", "Adresse du siège :", f"{facts.address_line} {facts.postcode} {facts.city}")
    layout.add("row", "Activité principale :", rng.choice(ACTIVITIES))
    layout.add("heading", "REPRESENTANTS LEGAUX")
    for manager in facts.managers:
        layout.add("row", "Qualité :", manager.role)
        if manager.given_names:
            layout.add("row", "Nom :", manager.surname)
            layout.add("row", "Prénoms :", " ".join(g.title() for g in manager.given_names.split()))
        else:
            layout.add("row", "Dénomination :", manager.surname)
        layout.add("space")
    layout.add("text", "Le présent document atteste de l'immatriculation de l'entreprise au RNE.")
    return layout


def _sirene_layout(facts: CompanyFacts, rng: random.Random) -> Layout:
    nic = f"{rng.randint(1, 99):03d}"
    nic += luhn_key(facts.siren + nic + "0")  # any digit would do; keep SIRETs Luhn-valid
    siret_head = facts.siren + nic
    siret = siret_head + luhn_key(siret_head)
    layout = Layout(
        header=(
            ("Institut national de la statistique et des études économiques", "INSEE"),
            ("Répertoire des entreprises et des établissements", ""),
        ),
        footer="Avis de situation au répertoire Sirene",
        value_x=80 * mm,
        title="Avis de situation",
    )
    layout.add("title", "AVIS DE SITUATION AU REPERTOIRE SIRENE")
    layout.add("subtitle", f"à la date du {_updated(facts, rng)}")
    layout.add("heading", "ENTREPRISE")
    layout.add("row", "Identifiant SIREN :", format_siren(facts.siren))
    layout.add("row", "Dénomination :", facts.name)
    layout.add("row", "Catégorie juridique :", INSEE_CATEGORIES[facts.legal_form])
    layout.add("row", "Date de création de l'entreprise :", f"{_registered(facts, rng):%d/%m/%Y}")
    layout.add("heading", "ETABLISSEMENT SIEGE")
    layout.add("row", "Identifiant SIRET :", f"{format_siren(facts.siren)} {siret[9:]}")
    layout.add("row", "Adresse :", f"{facts.address_line} {facts.postcode} {facts.city}")
    layout.add("row", "Activité principale exercée :", rng.choice(ACTIVITIES))
    layout.add("space")
    layout.add(
        "text",
        "Cet avis ne constitue pas une attestation d'immatriculation au RCS ou au RNE.",
        size=8,
    )
    return layout


def render_kbis_pdf(facts: CompanyFacts, *, scanned: bool = False, rng: random.Random) -> bytes:
    """The extract as a PDF: with a text layer, or (`scanned`) as an image-only scan."""
    if facts.kind in ("kbis", "extrait_k"):
        layout = _kbis_layout(facts, rng)
    elif facts.kind == "rne":
        layout = _rne_layout(facts, rng)
    elif facts.kind == "sirene":
        layout = _sirene_layout(facts, rng)
    else:
        raise ValueError(f"unknown extract kind {facts.kind!r}")
    pdf = layout.render()
    return scan_pdf(pdf, rng=rng) if scanned else pdf


def render_kbis_image(facts: CompanyFacts, *, rng: random.Random, fmt: str = "JPEG") -> bytes:
    """The first page of the extract, scanned to a JPEG or PNG file."""
    return scan_image(render_kbis_pdf(facts, rng=rng), rng=rng, fmt=fmt)


def with_pending_siren(facts: CompanyFacts) -> CompanyFacts:
    """The same company just registered: its Kbis reads "En cours d'attribution"."""
    return replace(facts, siren="")
