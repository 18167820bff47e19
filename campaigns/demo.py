"""Demo data for screenshots, manual testing and onboarding (`manage.py seed_demo`).

Every campaign is played through the services, acting as the person who would have done
each step, at the moment it would have happened: the timelines, acknowledgements, due
dates and outbox rows look like three weeks of real use, not like rows typed into a table.

The demo accounts are created here and only here (never by a migration), all with the
password `DEMO_PASSWORD`. Idempotent: people, teams and memberships are fetched or
created, and a campaign whose title already exists is left alone.
"""

# The French copy uses en dashes in titles and time ranges: typography, not typos.

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any
from unittest import mock

from allauth.account.models import EmailAddress
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from campaigns import services
from campaigns.models import Campaign, CampaignEvent, ChannelDefaultTeam
from notifications.models import Channel, Notification
from notifications.services import inbox_mark_read
from teams.models import Membership, Team
from teams.roles import MANAGER, MARKETER
from teams.services import roles_sync

__all__ = ["DEMO_PASSWORD", "demo_seed"]

DEMO_PASSWORD = "passerelle-demo"  # noqa: S105 - published on purpose: demo accounts only

# --- the clock ----------------------------------------------------------------------------

# A point in time relative to the seed's "now".
Moment = Callable[[datetime], datetime]


def day(offset: int, at: str) -> Moment:
    """`offset` days from today (local time), at the wall-clock time `at` ("09:30")."""
    hour, minute = (int(part) for part in at.split(":"))

    def moment(now: datetime) -> datetime:
        local = timezone.localtime(now)
        return datetime.combine(
            local.date() + timedelta(days=offset), time(hour, minute), tzinfo=local.tzinfo
        )

    return moment


def hours_ago(hours: float) -> Moment:
    return lambda now: now - timedelta(hours=hours)


@contextmanager
def _clock(moment: datetime) -> Iterator[None]:
    """Make `timezone.now()` return `moment` while a past step is played.

    The services take no clock argument on purpose (the real time is the only truth in
    production), and they refuse to announce a campaign whose launch date has passed. A
    campaign that ran two weeks ago can only be told realistically from two weeks ago, so
    the seed moves the clock, which also stamps created_at, announced_at, due dates and
    outbox rows at that moment. `time-machine` is a dev dependency, hence `mock.patch`.
    The patch is process-wide: fine for a management command, never do this in a web
    process.
    """
    with mock.patch("django.utils.timezone.now", return_value=moment):
        yield


# --- people and teams ---------------------------------------------------------------------

SALES_TEAM = "ventes"
ADVISORS_TEAM = "conseillers-clientele"
COMMUNICATION_TEAM = "communication"
MARKETING_TEAM = "marketing"

LEAD = Membership.Role.LEAD
MEMBER = Membership.Role.MEMBER


@dataclass(frozen=True, kw_only=True)
class _TeamSpec:
    slug: str
    name: str
    kind: str
    ack_policy: str
    ack_deadline_hours: int
    reminder_hours_before: int


TEAMS = (
    _TeamSpec(
        slug=SALES_TEAM,
        name="Ventes",
        kind=Team.Kind.SALES,
        ack_policy=Team.AckPolicy.ANY_MEMBER,
        ack_deadline_hours=48,
        reminder_hours_before=12,
    ),
    _TeamSpec(
        slug=ADVISORS_TEAM,
        name="Conseillers clientèle",
        kind=Team.Kind.SUPPORT,
        ack_policy=Team.AckPolicy.ANY_MEMBER,
        # Advisors take the calls the day a campaign lands: they must know first.
        ack_deadline_hours=24,
        reminder_hours_before=6,
    ),
    _TeamSpec(
        slug=COMMUNICATION_TEAM,
        name="Communication",
        kind=Team.Kind.COMMUNICATION,
        ack_policy=Team.AckPolicy.EVERY_MEMBER,
        ack_deadline_hours=72,
        reminder_hours_before=24,
    ),
    _TeamSpec(
        slug=MARKETING_TEAM,
        name="Marketing",
        kind=Team.Kind.MARKETING,
        ack_policy=Team.AckPolicy.ANY_MEMBER,
        ack_deadline_hours=48,
        reminder_hours_before=12,
    ),
)


# The teams pre-checked when a marketer picks a channel (editable in the admin).
CHANNEL_DEFAULT_TEAMS: dict[str, tuple[str, ...]] = {
    Campaign.Channel.EMAIL: (SALES_TEAM, ADVISORS_TEAM),
    Campaign.Channel.SMS: (ADVISORS_TEAM,),
    Campaign.Channel.PHONE: (SALES_TEAM, ADVISORS_TEAM),
    Campaign.Channel.EVENT: (SALES_TEAM, COMMUNICATION_TEAM),
    Campaign.Channel.WEBINAR: (SALES_TEAM, COMMUNICATION_TEAM),
    Campaign.Channel.MAIL: (ADVISORS_TEAM, COMMUNICATION_TEAM),
    Campaign.Channel.SOCIAL: (COMMUNICATION_TEAM,),
    Campaign.Channel.WEB: (COMMUNICATION_TEAM,),
}


@dataclass(frozen=True, kw_only=True)
class _Person:
    email: str
    full_name: str
    # The six documented logins use English so screenshots and browser tests match the
    # English UI; everyone else is French, as in the company this demo pretends to be.
    language: str = "fr"
    groups: tuple[str, ...] = ()
    teams: tuple[tuple[str, str], ...] = ()
    superuser: bool = False


# The documented logins.
MARKETER_LOGIN = "marketer@example.com"
ADVISOR_LOGIN = "advisor@example.com"
SALES_LOGIN = "sales@example.com"
LEAD_LOGIN = "lead@example.com"
MANAGER_LOGIN = "manager@example.com"
ADMIN_LOGIN = "admin@example.com"
LOGINS = (MARKETER_LOGIN, ADVISOR_LOGIN, SALES_LOGIN, LEAD_LOGIN, MANAGER_LOGIN, ADMIN_LOGIN)

# Colleagues who fill the teams.
MARKETER_2 = "julien.moreau@example.com"
ADVISOR_2 = "lucas.petit@example.com"
ADVISOR_3 = "emma.leroy@example.com"
ADVISOR_4 = "hugo.garnier@example.com"
SALES_LEAD = "antoine.lefebvre@example.com"
SALES_2 = "chloe.mercier@example.com"
SALES_3 = "manon.faure@example.com"
COMMUNICATION_LEAD = "claire.fontaine@example.com"
COMMUNICATION_2 = "maxime.chevalier@example.com"

PEOPLE = (
    _Person(
        email=MARKETER_LOGIN,
        full_name="Camille Laurent",
        language="en",
        groups=(MARKETER,),
        teams=((MARKETING_TEAM, MEMBER),),
    ),
    _Person(
        email=ADVISOR_LOGIN,
        full_name="Sophie Martin",
        language="en",
        teams=((ADVISORS_TEAM, MEMBER),),
    ),
    _Person(
        email=SALES_LOGIN, full_name="Thomas Bernard", language="en", teams=((SALES_TEAM, MEMBER),)
    ),
    _Person(
        email=LEAD_LOGIN, full_name="Nathalie Dubois", language="en", teams=((ADVISORS_TEAM, LEAD),)
    ),
    _Person(email=MANAGER_LOGIN, full_name="Philippe Girard", language="en", groups=(MANAGER,)),
    _Person(email=ADMIN_LOGIN, full_name="Isabelle Roux", language="en", superuser=True),
    _Person(
        email=MARKETER_2,
        full_name="Julien Moreau",
        groups=(MARKETER,),
        teams=((MARKETING_TEAM, LEAD),),
    ),
    _Person(email=ADVISOR_2, full_name="Lucas Petit", teams=((ADVISORS_TEAM, MEMBER),)),
    _Person(email=ADVISOR_3, full_name="Emma Leroy", teams=((ADVISORS_TEAM, MEMBER),)),
    _Person(email=ADVISOR_4, full_name="Hugo Garnier", teams=((ADVISORS_TEAM, MEMBER),)),
    _Person(email=SALES_LEAD, full_name="Antoine Lefebvre", teams=((SALES_TEAM, LEAD),)),
    _Person(email=SALES_2, full_name="Chloé Mercier", teams=((SALES_TEAM, MEMBER),)),
    _Person(email=SALES_3, full_name="Manon Faure", teams=((SALES_TEAM, MEMBER),)),
    _Person(
        email=COMMUNICATION_LEAD, full_name="Claire Fontaine", teams=((COMMUNICATION_TEAM, LEAD),)
    ),
    _Person(
        email=COMMUNICATION_2,
        full_name="Maxime Chevalier",
        teams=((COMMUNICATION_TEAM, MEMBER),),
    ),
)

# --- campaign stories ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class _Step:
    at: Moment
    by: str
    action: str
    text: str = ""  # the acknowledgement note, or the override/cancel reason
    changes: Mapping[str, Any] = field(default_factory=dict)


def announce(at: Moment, by: str) -> _Step:
    return _Step(at=at, by=by, action="announce")


def ack(at: Moment, by: str, note: str = "") -> _Step:
    return _Step(at=at, by=by, action="ack", text=note)


def edit(at: Moment, by: str, **changes: Any) -> _Step:
    """Changes are `CampaignInput` fields; a `Moment` value is resolved against now."""
    return _Step(at=at, by=by, action="edit", changes=changes)


def done(at: Moment, by: str) -> _Step:
    return _Step(at=at, by=by, action="done")


def override(at: Moment, by: str, reason: str) -> _Step:
    return _Step(at=at, by=by, action="override", text=reason)


def cancel(at: Moment, by: str, reason: str) -> _Step:
    return _Step(at=at, by=by, action="cancel", text=reason)


def results(at: Moment, by: str, actuals: Mapping[str, int]) -> _Step:
    return _Step(at=at, by=by, action="results", changes=actuals)


@dataclass(frozen=True, kw_only=True)
class _CampaignSpec:
    title: str
    channel: str
    audience: str
    recipients: int
    launch: Moment | None
    ends: Moment | None = None
    owner: str
    teams: tuple[str, ...]
    summary: str
    body: str
    objective: str = ""
    kpis: tuple[tuple[str, int], ...] = ()
    created: Moment
    story: tuple[_Step, ...] = ()


CGV_BODY = """\
## Ce que les clients ont reçu

Un courrier à en-tête, adressé au siège de chaque client sous contrat, avec :

- une lettre de deux pages résumant les changements des conditions générales de vente ;
- les nouvelles CGV complètes, applicables au **1er janvier 2027** ;
- un coupon réponse pour demander un rendez-vous avec son commercial.

Principaux changements : révision annuelle des prix indexée sur l'indice Syntec
(+3,2 %), délai de paiement ramené à 30 jours fin de mois, et résiliation possible en
ligne depuis l'espace client.

## Points clés pour les conseillers

- Les contrats en cours **ne changent pas** avant leur date anniversaire.
- La hausse de 3,2 % ne s'applique qu'au renouvellement ; aucune facture intermédiaire.
- Un client qui conteste la hausse : noter la demande dans le CRM (motif « CGV 2027 »)
  et proposer un rappel par son commercial sous 48 h.
- Ne pas promettre de remise : seuls les commerciaux peuvent en accorder.

## FAQ

**Je n'ai pas reçu le courrier.** Vérifier l'adresse du siège dans le CRM, puis envoyer
les CGV en PDF depuis le modèle d'e-mail « CGV 2027 ».

**Puis-je refuser les nouvelles CGV ?** Oui, en résiliant à l'échéance, selon le préavis
prévu au contrat (trois mois en général).

**La résiliation en ligne, c'est quand ?** Dès le 1er janvier 2027, depuis l'espace
client, rubrique « Mon contrat ».
"""

CGV_BODY_V2 = (
    CGV_BODY
    + """
**Pourquoi le courrier arrive-t-il plus tard qu'annoncé ?** L'imprimeur a décalé le
dépôt à La Poste de trois jours ; le contenu du courrier est inchangé, seule la date
d'envoi change.
"""
)

VOEUX_BODY = """\
## Ce que les clients ont reçu

Un e-mail de vœux envoyé au nom de la direction générale, avec une courte vidéo
(1 min 30) : l'équipe revient sur l'année 2026 et présente trois nouveautés de 2027.
Objet : « Belle année 2027 de la part de toute l'équipe ». Aucun contenu commercial,
pas d'offre promotionnelle.

## Points clés pour les conseillers

- C'est un message institutionnel : aucune action n'est attendue des clients.
- Les trois nouveautés citées dans la vidéo : l'application mobile, la signature
  électronique des devis et le nouvel espace client. Les dates précises ne sont pas
  encore publiques, ne pas en donner.
- Un client qui répond à l'e-mail écrit à la boîte « contact » : les réponses arrivent
  dans la file « Vœux 2027 » du support, à traiter sous 5 jours ouvrés.

## FAQ

**Un client demande à ne plus recevoir d'e-mails.** Le lien de désinscription en bas
de l'e-mail suffit ; sinon, cocher « Opposition e-mailing » dans sa fiche CRM.

**La vidéo ne se lance pas.** Elle est hébergée sur notre site ; donner le lien direct
indiqué dans la base de connaissances (article « Vœux 2027 »).

**Pourquoi un prospect l'a-t-il reçue ?** La cible inclut les prospects actifs de la
base CRM (contact dans les 12 derniers mois).
"""

SMS_BODY = """\
## Ce que les clients ont reçu

Un SMS de 160 caractères :

> Votre contrat arrive à échéance le 31/12. Renouvelez en 2 min depuis votre espace
> client ou appelez-nous au 01 23 45 67 89. STOP au 36111

## Points clés pour les conseillers

- Le renouvellement en ligne reprend les conditions actuelles du client.
- Un client qui appelle pour renouveler : vérifier l'échéance dans le CRM, puis
  renouveler directement (pas de devis nécessaire).
- Les demandes de changement d'offre sont à transférer aux commerciaux.

## FAQ

**J'ai reçu le SMS mais mon contrat n'expire pas au 31/12.** Vérifier la date
d'échéance : certains contrats ont été renouvelés entre l'extraction et l'envoi. Présenter
nos excuses, aucune action requise.

**Comment ne plus recevoir de SMS ?** Répondre STOP au 36111, ou cocher « Opposition SMS »
dans la fiche CRM.
"""

WEBINAR_BODY = """\
## Ce que les clients ont reçu

Une invitation par e-mail au webinaire « Se préparer à la facturation électronique »
(1 h, 11 h – 12 h), puis deux rappels (J-7 et J-1) aux inscrits. Au programme : le
calendrier de la réforme, ce qui change pour les PME et ETI, et une démonstration de
l'émission de factures électroniques dans notre logiciel.

## Points clés pour les conseillers

- La réception des factures électroniques est obligatoire pour toutes les entreprises
  à partir du 1er septembre 2026 ; l'émission le sera pour les PME en 2027.
- Notre logiciel est connecté à une plateforme agréée : le client n'a rien à installer.
- Le replay est envoyé à tous les inscrits le lendemain du webinaire.

## FAQ

**Le webinaire est-il payant ?** Non, il est gratuit pour les clients et prospects.

**Je n'ai pas pu y assister.** Le replay est disponible sur la page « Webinaires » du site.

**Dois-je changer d'offre pour émettre des factures électroniques ?** Non, la fonction est
incluse dans toutes les offres à partir de la version 8.2.
"""

SALON_BODY = """\
## Ce que les clients ont reçu

Une invitation gratuite (badge électronique) pour le salon Solutions RH & Paie, à Paris
Porte de Versailles, stand B42, avec la possibilité de réserver un créneau de
démonstration de 30 minutes.

## Points clés pour les conseillers

- Les badges sont nominatifs ; un client qui a perdu le sien peut en recréer un sur le
  site du salon avec le code invitation **SRH-B42**.
- Les rendez-vous sur le stand se prennent par le lien de l'invitation, pas par téléphone.
- Trois conférences de nos experts paie ont lieu dans la salle 3 (programme sur le site).

## FAQ

**Le parking est-il offert ?** Non, nous recommandons le tramway T2 ou T3a.

**Puis-je venir avec un collègue ?** Oui, chaque invitation permet de créer deux badges.
"""

DEVIS_BODY = """\
## Ce que les clients ont reçu

Un e-mail personnalisé signé par le commercial du prospect, rappelant son devis
Essentiel en cours, avec un bouton « Signer mon devis en ligne » et une remise de 10 %
sur la première année, valable 15 jours.

## Points clés pour les conseillers

- La remise de 10 % n'est valable que sur les devis Essentiel ouverts depuis plus de
  30 jours ; elle s'applique automatiquement à la signature en ligne.
- Un prospect qui appelle pour une question technique : répondre, puis prévenir son
  commercial dans le CRM.

## FAQ

**Le lien de signature a expiré.** Le commercial peut renvoyer le devis depuis le CRM ;
la remise reste valable jusqu'à la date indiquée dans l'e-mail.
"""

JEU_BODY = """\
## Ce que les clients ont reçu

Rien encore : une série de publications LinkedIn pour les 10 ans de l'entreprise, avec un
tirage au sort parmi les abonnés qui commentent (trois week-ends pour deux personnes à
gagner).

## Points clés pour les conseillers

- Le règlement sera déposé chez un commissaire de justice et publié sur le site.
- Les clients ne sont pas contactés directement.

## FAQ

**Qui peut participer ?** Toute personne majeure résidant en France métropolitaine.
"""

APPELS_BODY = """\
## Ce que les clients ont reçu

Rien par écrit : les conseillers appellent chaque client Pro et Pro+ dont le contrat
arrive à échéance au premier trimestre, pour faire le point sur son utilisation et
préparer le renouvellement.

## Points clés pour les conseillers

- La liste d'appels est dans le CRM, vue « Courtoisie T1 », répartie par conseiller.
- Objectif : 20 appels par jour et par conseiller, résultat noté dans le CRM.
- Un client qui envisage de partir : proposer un rendez-vous avec son commercial, ne pas
  négocier au téléphone.
- Un client injoignable après deux tentatives : envoyer le modèle d'e-mail « Courtoisie ».

## FAQ

**Le client demande pourquoi on l'appelle.** Appel de courtoisie avant son renouvellement,
pour vérifier que l'outil répond à ses besoins ; aucune vente n'est proposée.

**Le client veut ajouter des utilisateurs.** Créer une opportunité pour son commercial.
"""

PRO_PLUS_BODY = """\
## Ce que les clients ont reçu

Six publications LinkedIn sur deux semaines présentant l'offre Pro+ : gestion
multi-sociétés, tableaux de bord personnalisables et support prioritaire. Les
commerciaux relaient les publications depuis leur profil.

## Points clés pour les conseillers

- Pro+ est disponible pour les nouveaux clients et en montée de version pour les clients
  Pro, sans changement de date d'échéance.
- Le support prioritaire (rappel sous 2 h ouvrées) démarre dès l'activation.
- Tarifs publics : 89 € HT par utilisateur et par mois, engagement annuel.

## FAQ

**Un client Pro veut passer en Pro+.** Créer une opportunité « Montée de version » pour son
commercial ; le changement est effectif sous 24 h après signature.

**Les données sont-elles migrées ?** Oui, rien ne change pour les utilisateurs existants.
"""

LYON_BODY = """\
## Ce que les clients ont reçu

Une invitation par e-mail et sur LinkedIn à la soirée portes ouvertes de l'agence de
Lyon (17 h 30 – 21 h) : visite des nouveaux locaux, démonstrations de l'offre Pro+ et
cocktail. Inscription obligatoire.

## Points clés pour les conseillers

- Adresse : 24 rue de la République, 69002 Lyon, métro Cordeliers.
- Inscriptions par le lien de l'invitation uniquement ; 120 places.
- Les conseillers de Lyon animent l'espace « Questions support ».

## FAQ

**Puis-je venir sans inscription ?** Dans la limite des places disponibles, mais
l'inscription est recommandée.

**Y a-t-il une retransmission en ligne ?** Non, l'événement est uniquement sur place.
"""

NEWSLETTER_BODY = """\
## Ce que les clients ont reçu

*À compléter.* Pistes : bilan de l'année, nouveautés de la version 8.3, rappel des
horaires du support pendant les fêtes.

## Points clés pour les conseillers

- Horaires du support du 24 décembre au 2 janvier : à confirmer avec la direction.
"""

PARTENAIRES_BODY = """\
## Ce que les partenaires recevront

*Brouillon.* Présentation du programme partenaires 2027 : nouveaux paliers de
certification, remises revendeurs et portail partenaires.
"""

ENQUETE_BODY = """\
## Ce que les clients auraient reçu

Un questionnaire de cinq questions envoyé 48 h après chaque intervention technique.
"""

CAMPAIGNS = (
    _CampaignSpec(
        title="Salon Solutions RH & Paie – stand B42",
        channel=Campaign.Channel.EVENT,
        audience="Prospects et clients d'Île-de-France invités (DRH, responsables paie)",
        recipients=2500,
        launch=day(-18, "09:00"),
        ends=day(-16, "18:00"),
        owner=MARKETER_2,
        teams=(SALES_TEAM, COMMUNICATION_TEAM, MARKETING_TEAM),
        summary=(
            "Trois jours de salon à Paris Porte de Versailles : démonstrations de la paie "
            "et des tableaux de bord RH, rendez-vous commerciaux sur le stand."
        ),
        body=SALON_BODY,
        objective="Générer 150 contacts qualifiés et 40 rendez-vous commerciaux.",
        kpis=(
            ("Contacts qualifiés", 150),
            ("Rendez-vous commerciaux", 40),
            ("Badges invités utilisés", 600),
        ),
        created=day(-27, "11:00"),
        story=(
            announce(day(-25, "10:00"), MARKETER_2),
            ack(day(-25, "10:30"), MARKETER_LOGIN),
            ack(
                day(-25, "14:20"),
                SALES_LEAD,
                note="Planning du stand envoyé à l'équipe : six commerciaux présents par jour.",
            ),
            ack(day(-24, "09:40"), COMMUNICATION_LEAD),
            ack(day(-24, "11:05"), COMMUNICATION_2),
            done(day(-15, "17:00"), MARKETER_2),
            results(
                day(-14, "10:00"),
                MARKETER_2,
                {
                    "Contacts qualifiés": 128,
                    "Rendez-vous commerciaux": 45,
                    "Badges invités utilisés": 512,
                },
            ),
        ),
    ),
    _CampaignSpec(
        title="Webinaire : se préparer à la facturation électronique",
        channel=Campaign.Channel.WEBINAR,
        audience="Clients PME et ETI – dirigeants et responsables financiers",
        recipients=1800,
        launch=day(-14, "11:00"),
        ends=day(-14, "12:00"),
        owner=MARKETER_LOGIN,
        teams=(ADVISORS_TEAM, SALES_TEAM),
        summary=(
            "Une heure pour expliquer le calendrier de la réforme et montrer l'émission de "
            "factures électroniques dans le logiciel."
        ),
        body=WEBINAR_BODY,
        objective="Rassurer les clients sur la réforme et susciter des demandes de démo.",
        kpis=(("Inscrits", 300), ("Participants en direct", 150), ("Demandes de démo", 20)),
        created=day(-24, "15:00"),
        story=(
            announce(day(-21, "09:30"), MARKETER_LOGIN),
            ack(day(-21, "10:15"), ADVISOR_LOGIN),
            ack(
                day(-20, "16:40"),
                SALES_2,
                note="Peut-on envoyer le replay aux prospects en cours de négociation ?",
            ),
            done(day(-13, "10:00"), MARKETER_LOGIN),
            results(
                day(-12, "09:00"),
                MARKETER_LOGIN,
                {"Inscrits": 342, "Participants en direct": 171, "Demandes de démo": 26},
            ),
        ),
    ),
    _CampaignSpec(
        title="Enquête de satisfaction post-intervention",
        channel=Campaign.Channel.EMAIL,
        audience="Clients ayant eu une intervention technique dans les 30 derniers jours",
        recipients=900,
        launch=day(-9, "10:00"),
        owner=MARKETER_LOGIN,
        teams=(ADVISORS_TEAM,),
        summary="Un questionnaire court après chaque intervention technique.",
        body=ENQUETE_BODY,
        created=day(-15, "14:00"),
        story=(
            cancel(
                day(-11, "09:15"),
                MARKETER_LOGIN,
                reason="Remplacée par l'enquête annuelle de satisfaction (NPS) de janvier.",
            ),
        ),
    ),
    _CampaignSpec(
        title="SMS – rappel d'échéance de renouvellement",
        channel=Campaign.Channel.SMS,
        audience="Clients dont le contrat arrive à échéance au 31 décembre",
        recipients=3500,
        launch=day(-10, "10:00"),
        owner=MARKETER_LOGIN,
        teams=(ADVISORS_TEAM, SALES_TEAM, COMMUNICATION_TEAM),
        summary=(
            "Un SMS invitant les clients à renouveler leur contrat en ligne avant le 31 décembre."
        ),
        body=SMS_BODY,
        objective="Faire renouveler en ligne 400 contrats dans la semaine qui suit l'envoi.",
        kpis=(("Renouvellements signés sous 7 jours", 400), ("Réponses STOP", 50)),
        created=day(-13, "10:00"),
        story=(
            announce(day(-12, "09:30"), MARKETER_LOGIN),
            ack(
                day(-12, "11:00"),
                LEAD_LOGIN,
                note="Script d'appel entrant mis à jour dans la base de connaissances.",
            ),
            ack(day(-11, "09:20"), COMMUNICATION_LEAD),
            ack(day(-11, "15:10"), SALES_LOGIN),
            # Maxime Chevalier never acknowledges, so Communication ("every member")
            # stays pending and the manager closes the campaign by override.
            override(
                day(-8, "17:30"),
                MANAGER_LOGIN,
                reason=(
                    "SMS envoyés comme prévu. Maxime Chevalier était en congé ; la "
                    "Communication avait validé le texte en réunion d'équipe."
                ),
            ),
            results(
                day(-3, "10:00"),
                MARKETER_LOGIN,
                {"Renouvellements signés sous 7 jours": 352, "Réponses STOP": 31},
            ),
        ),
    ),
    _CampaignSpec(
        title="Relance des devis non signés – offre Essentiel",
        channel=Campaign.Channel.EMAIL,
        audience="Prospects avec un devis Essentiel ouvert depuis plus de 30 jours",
        recipients=640,
        launch=day(-7, "08:30"),
        owner=MARKETER_2,
        teams=(SALES_TEAM,),
        summary=(
            "Un e-mail signé par le commercial, avec 10 % de remise sur la première année "
            "pour toute signature sous 15 jours."
        ),
        body=DEVIS_BODY,
        objective="Convertir 30 devis dormants.",
        kpis=(("Devis signés", 30), ("Taux de clic (%)", 8)),
        created=day(-10, "16:00"),
        story=(
            announce(day(-9, "10:00"), MARKETER_2),
            ack(
                day(-9, "11:30"),
                SALES_LEAD,
                note="Les commerciaux rappellent les devis de plus de 5 000 € sous 48 h.",
            ),
            done(day(-5, "09:00"), MARKETER_2),
            results(day(-2, "14:00"), MARKETER_2, {"Devis signés": 22, "Taux de clic (%)": 11}),
        ),
    ),
    _CampaignSpec(
        title="Jeu-concours LinkedIn – les 10 ans de l'entreprise",
        channel=Campaign.Channel.SOCIAL,
        audience="Abonnés de la page LinkedIn de l'entreprise",
        recipients=12000,
        launch=day(6, "12:00"),
        ends=day(20, "23:00"),
        owner=MARKETER_2,
        teams=(COMMUNICATION_TEAM, ADVISORS_TEAM),
        summary="Un tirage au sort parmi les abonnés qui commentent nos publications anniversaire.",
        body=JEU_BODY,
        created=day(-9, "11:00"),
        story=(
            announce(day(-8, "15:00"), MARKETER_2),
            ack(day(-7, "10:00"), COMMUNICATION_LEAD),
            ack(day(-7, "11:30"), ADVISOR_LOGIN),
            cancel(
                day(-2, "16:45"),
                MARKETER_2,
                reason=(
                    "Règlement du jeu non validé à temps par le service juridique ; "
                    "reporté au printemps."
                ),
            ),
        ),
    ),
    _CampaignSpec(
        title="Courrier – nouvelles conditions générales de vente 2027",
        channel=Campaign.Channel.MAIL,
        audience="Tous les clients sous contrat (envoi postal au siège)",
        recipients=8200,
        launch=day(6, "09:00"),
        owner=MARKETER_LOGIN,
        teams=(ADVISORS_TEAM, SALES_TEAM),
        summary="Le courrier annonçant les CGV applicables au 1er janvier 2027.",
        body=CGV_BODY,
        objective="Informer tous les clients un mois avant l'entrée en vigueur.",
        created=day(-8, "10:00"),
        story=(
            announce(day(-7, "10:00"), MARKETER_LOGIN),
            ack(day(-7, "14:00"), ADVISOR_LOGIN),
            ack(day(-6, "09:45"), SALES_LOGIN),
            # The printer is late: a new date and a new FAQ entry are material, so the
            # campaign goes to version 2 and both teams must acknowledge again.
            edit(day(-2, "11:00"), MARKETER_LOGIN, launch_at=day(9, "09:00"), body=CGV_BODY_V2),
            ack(
                day(-1, "09:30"),
                LEAD_LOGIN,
                note="Nouvelle date notée, FAQ relue avec l'équipe.",
            ),
        ),
    ),
    _CampaignSpec(
        title="Appels de courtoisie – clients à renouveler au premier trimestre",
        channel=Campaign.Channel.PHONE,
        audience="Clients Pro et Pro+ dont le contrat arrive à échéance entre janvier et mars",
        recipients=420,
        launch=day(3, "09:00"),
        ends=day(24, "18:00"),
        owner=MARKETER_LOGIN,
        teams=(ADVISORS_TEAM, SALES_TEAM),
        summary="Les conseillers appellent chaque client concerné avant son renouvellement.",
        body=APPELS_BODY,
        objective="Joindre 90 % des clients concernés et détecter les risques de départ.",
        kpis=(("Clients joints", 380), ("Rendez-vous de renouvellement", 60)),
        created=day(-4, "15:00"),
        story=(
            # Conseillers clientèle have 24 hours and have not acknowledged: overdue,
            # so their lead and the managers are escalated to.
            announce(day(-2, "10:00"), MARKETER_LOGIN),
            ack(day(-2, "14:30"), SALES_3),
        ),
    ),
    _CampaignSpec(
        title="Lancement de l'offre Pro+ – publications LinkedIn",
        channel=Campaign.Channel.SOCIAL,
        audience="Abonnés LinkedIn de l'entreprise et réseaux des commerciaux",
        recipients=15000,
        launch=day(5, "08:00"),
        ends=day(19, "18:00"),
        owner=MARKETER_2,
        teams=(COMMUNICATION_TEAM, SALES_TEAM, MARKETING_TEAM),
        summary="Six publications sur deux semaines pour faire connaître l'offre Pro+.",
        body=PRO_PLUS_BODY,
        objective="Obtenir 60 demandes de démonstration Pro+.",
        kpis=(("Impressions", 80000), ("Demandes de démo Pro+", 60)),
        created=day(-6, "10:00"),
        story=(
            announce(day(-5, "11:00"), MARKETER_2),
            ack(day(-5, "11:30"), MARKETER_LOGIN),
            ack(day(-5, "14:00"), COMMUNICATION_LEAD),
            ack(
                day(-5, "15:20"),
                SALES_LOGIN,
                note="Les commerciaux relaieront chaque publication le jour même.",
            ),
            ack(day(-4, "09:30"), COMMUNICATION_2),
        ),
    ),
    _CampaignSpec(
        title="Portes ouvertes de l'agence de Lyon",
        channel=Campaign.Channel.EVENT,
        audience="Clients et prospects de la région Auvergne-Rhône-Alpes",
        recipients=1100,
        launch=day(11, "17:30"),
        ends=day(11, "21:00"),
        owner=MARKETER_LOGIN,
        teams=(SALES_TEAM, COMMUNICATION_TEAM, ADVISORS_TEAM),
        summary="Une soirée pour découvrir les nouveaux locaux lyonnais et l'offre Pro+.",
        body=LYON_BODY,
        objective="Accueillir 120 invités, dont 40 prospects.",
        kpis=(("Inscrits", 120), ("Prospects présents", 40)),
        created=day(-4, "09:00"),
        story=(announce(hours_ago(2), MARKETER_LOGIN),),
    ),
    _CampaignSpec(
        title="Carte de vœux 2027",
        channel=Campaign.Channel.EMAIL,
        audience="Clients et prospects actifs (base CRM)",
        # The CRM export came back with 40,000 contacts after the announcement; the
        # count is not material, so no new version.
        recipients=38500,
        launch=day(18, "09:00"),
        owner=MARKETER_LOGIN,
        teams=(ADVISORS_TEAM, SALES_TEAM, COMMUNICATION_TEAM),
        summary=(
            "L'e-mail de vœux de la direction, avec une vidéo de 90 secondes sur l'année "
            "écoulée et trois nouveautés de 2027."
        ),
        body=VOEUX_BODY,
        objective="Entretenir la relation sans sollicitation commerciale.",
        kpis=(
            ("Taux d'ouverture (%)", 35),
            ("Clics vers la vidéo", 2500),
            ("Désinscriptions (maximum)", 150),
        ),
        created=day(-6, "14:00"),
        story=(
            announce(day(-1, "15:00"), MARKETER_LOGIN),
            ack(day(-1, "15:40"), ADVISOR_LOGIN),
            ack(
                day(-1, "16:10"),
                COMMUNICATION_LEAD,
                note="Vidéo validée. Maxime vérifie les sous-titres avant d'accuser réception.",
            ),
            edit(day(-1, "16:30"), MARKETER_LOGIN, estimated_recipients=40000),
            ack(day(-1, "17:20"), SALES_LOGIN),
        ),
    ),
    _CampaignSpec(
        title="Newsletter clients – édition de fin d'année",
        channel=Campaign.Channel.EMAIL,
        audience="Clients abonnés à la newsletter",
        recipients=22000,
        launch=day(21, "10:00"),
        owner=MARKETER_2,
        teams=(ADVISORS_TEAM, SALES_TEAM),
        summary="Bilan de l'année, nouveautés de la version 8.3 et horaires du support.",
        body=NEWSLETTER_BODY,
        kpis=(("Taux d'ouverture (%)", 30),),
        created=day(-1, "11:00"),
    ),
    _CampaignSpec(
        title="Webinaire partenaires intégrateurs – programme 2027",
        channel=Campaign.Channel.WEBINAR,
        audience="Partenaires intégrateurs et revendeurs certifiés",
        recipients=180,
        launch=None,
        owner=MARKETER_LOGIN,
        teams=(SALES_TEAM,),
        summary="Présenter le programme partenaires 2027. Date à caler avec la direction.",
        body=PARTENAIRES_BODY,
        created=day(-3, "16:00"),
    ),
)


# --- seeding ------------------------------------------------------------------------------


def demo_seed(*, now: datetime | None = None) -> dict[str, int]:
    """Create the demo teams, people and campaigns; return how many of each were created.

    One transaction: the seed lands whole or not at all; outbox deliveries are queued on
    commit like any other change. Idempotent: a second run creates nothing.
    """
    now = now or timezone.now()
    with transaction.atomic():
        roles_sync()
        events_before = CampaignEvent.objects.count()
        notifications_before = Notification.objects.count()
        # Teams and people were there well before the campaigns.
        with _clock(now - timedelta(days=90)):
            teams, teams_created = _seed_teams()
            channel_defaults_created = _seed_channel_defaults(teams)
            users, users_created, memberships_created = _seed_people(teams, now=now)
        campaigns_created = 0
        for spec in CAMPAIGNS:
            if Campaign.objects.filter(title=spec.title).exists():
                continue
            _play(spec, now=now, users=users, teams=teams)
            campaigns_created += 1
        escalations = 0
        if campaigns_created:
            # What beat would do within minutes: remind and escalate overdue teams, so
            # the inboxes of leads and managers show it from the start.
            with _clock(now):
                sweep = services.campaigns_send_due_reminders_and_escalations(now=now)
            escalations = sweep["reminders"] + sweep["escalations"]
        return {
            "teams": teams_created,
            "channel_defaults": channel_defaults_created,
            "users": users_created,
            "memberships": memberships_created,
            "campaigns": campaigns_created,
            "campaigns_existing": len(CAMPAIGNS) - campaigns_created,
            "events": CampaignEvent.objects.count() - events_before,
            "notifications": Notification.objects.count() - notifications_before,
            "reminders_and_escalations": escalations,
        }


def _seed_teams() -> tuple[dict[str, Team], int]:
    teams: dict[str, Team] = {}
    created = 0
    for spec in TEAMS:
        team, was_created = Team.objects.get_or_create(
            slug=spec.slug,
            defaults={
                "name": spec.name,
                "kind": spec.kind,
                "ack_policy": spec.ack_policy,
                "ack_deadline_hours": spec.ack_deadline_hours,
                "reminder_hours_before": spec.reminder_hours_before,
            },
        )
        teams[spec.slug] = team
        created += was_created
    return teams, created


def _seed_channel_defaults(teams: Mapping[str, Team]) -> int:
    """Add the missing default teams per channel; existing ones are left as they are."""
    created = 0
    for channel, slugs in CHANNEL_DEFAULT_TEAMS.items():
        for slug in slugs:
            _default, was_created = ChannelDefaultTeam.objects.get_or_create(
                channel=channel, team=teams[slug]
            )
            created += was_created
    return created


def _seed_people(teams: Mapping[str, Team], *, now: datetime) -> tuple[dict[str, User], int, int]:
    groups = {group.name: group for group in Group.objects.filter(name__in=[MARKETER, MANAGER])}
    # One hash for everyone: the password is public anyway, and hashing it fifteen times
    # would make the seed take seconds for nothing.
    password = make_password(DEMO_PASSWORD)
    users: dict[str, User] = {}
    users_created = memberships_created = 0
    for person in PEOPLE:
        user, created = User.objects.get_or_create(
            email=person.email,
            defaults={
                "full_name": person.full_name,
                "language": person.language,
                "password": password,
                "is_staff": person.superuser,
                "is_superuser": person.superuser,
                "date_joined": now - timedelta(days=90),
            },
        )
        users_created += created
        # Without a verified address allauth would ask for a confirmation e-mail at login.
        EmailAddress.objects.get_or_create(
            user=user, email=person.email, defaults={"primary": True, "verified": True}
        )
        user.groups.add(*(groups[name] for name in person.groups))
        for slug, role in person.teams:
            _membership, created = Membership.objects.get_or_create(
                team=teams[slug], user=user, defaults={"role": role}
            )
            memberships_created += created
        users[person.email] = user
    return users, users_created, memberships_created


def _play(
    spec: _CampaignSpec, *, now: datetime, users: Mapping[str, User], teams: Mapping[str, Team]
) -> None:
    """Create one campaign and replay its story, each step at its own moment."""
    data = services.CampaignInput(
        title=spec.title,
        channel=spec.channel,
        audience=spec.audience,
        estimated_recipients=spec.recipients,
        launch_at=spec.launch(now) if spec.launch else None,
        ends_at=spec.ends(now) if spec.ends else None,
        summary=spec.summary,
        body=spec.body,
        objective=spec.objective,
        team_ids=[teams[slug].pk for slug in spec.teams],
        kpis=[services.KpiInput(name=name, target=target) for name, target in spec.kpis],
    )
    with _clock(_past(spec.created(now), now)):
        campaign = services.campaign_create(actor=users[spec.owner], data=data)
    for step in spec.story:
        actor = users[step.by]
        with _clock(_past(step.at(now), now)):
            match step.action:
                case "announce":
                    services.campaign_announce(actor=actor, campaign_id=campaign.pk)
                case "ack":
                    services.campaign_acknowledge(
                        actor=actor, campaign_id=campaign.pk, note=step.text
                    )
                    # Whoever acknowledges has read the announcement in their inbox.
                    for notification_id in _unread_in_app(actor, campaign.pk):
                        inbox_mark_read(user=actor, notification_id=notification_id)
                case "edit":
                    data = replace(
                        data,
                        kpis=None,
                        **{
                            name: value(now) if callable(value) else value
                            for name, value in step.changes.items()
                        },
                    )
                    services.campaign_update(actor=actor, campaign_id=campaign.pk, data=data)
                case "done":
                    services.campaign_mark_done(actor=actor, campaign_id=campaign.pk)
                case "override":
                    services.campaign_override_done(
                        actor=actor, campaign_id=campaign.pk, reason=step.text
                    )
                case "cancel":
                    services.campaign_cancel(actor=actor, campaign_id=campaign.pk, reason=step.text)
                case "results":
                    kpi_ids = dict(campaign.kpis.values_list("name", "pk"))
                    services.campaign_record_results(
                        actor=actor,
                        campaign_id=campaign.pk,
                        actuals={kpi_ids[name]: value for name, value in step.changes.items()},
                    )
                case _:
                    raise ValueError(f"unknown demo step {step.action!r}")


def _past(moment: datetime, now: datetime) -> datetime:
    if moment > now:
        raise ValueError(f"demo step at {moment.isoformat()} is after now ({now.isoformat()})")
    return moment


def _unread_in_app(user: User, campaign_id: int) -> list[int]:
    return list(
        Notification.objects.filter(
            recipient=user, campaign_id=campaign_id, channel=Channel.IN_APP, read_at__isnull=True
        ).values_list("pk", flat=True)
    )
