"""The benchmark data set, seeded in SQL: shared by benchmarks/dashboard.py and load.py.

Everything big is written with `generate_series` and a fixed random seed, so 100,000
campaigns and their 1.7 million related rows take a minute or two, not the hours the
services would, and two seeds of the same size hold the same data. People, teams and
their e-mail addresses go through the ORM (a few dozen rows), with one password hash
computed once (62 at production cost would add half a minute).

- `seed_campaigns` is the dashboard's set: 5 teams, 62 people, N campaigns announced
  over two years, one stakeholder row per campaign and team, the acknowledgements
  behind them and the "done" timeline events. With `bodies=True` the campaigns also get
  a summary and a Markdown body of about 1.2 kB (what the feed searches and the campaign
  page renders).
- `seed_load_extras` adds what the load benchmark reads beyond that: the in-app notices
  of every team member, the manager and a marketer (as the outbox writes them: one
  `Dispatch` per event, one `Notification` row per person), one announced campaign with
  a 300-message thread and a ~150-event timeline, 0 to 4 thread messages on every other
  announced campaign, and the advisor's subscription token.

The people who log in (`LOGINS`) share the password `BENCH_PASSWORD`; their e-mail
addresses are verified, or allauth would ask for a confirmation e-mail at login.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.db.backends.utils import CursorWrapper
    from django.db.models import Model

TEAMS = [
    # name, slug, policy, members
    ("Service client", "service-client", "any", 15),
    ("Ventes particuliers", "ventes-particuliers", "any", 12),
    ("Ventes entreprises", "ventes-entreprises", "any", 10),
    ("Agences", "agences", "any", 10),
    ("Direction régionale", "direction-regionale", "every", 3),
]
MARKETERS = 10
BENCH_PASSWORD = "bench-password"  # noqa: S105 - benchmark data only, never a real account

# Who logs in for the load benchmark, by role: advisor1 is a member of the first team,
# whose lead is lead@bench.test.
LOGINS = {
    "advisor": "advisor1@bench.test",
    "marketer": "marketer0@bench.test",
    "manager": "manager@bench.test",
    "lead": "lead@bench.test",
}
LEAD_TEAM_SLUG = TEAMS[0][1]

# A word found in about one campaign body in seven (stemmed by the French configuration
# as any other word), for the feed's search.
SEARCH_WORD = "parrainage"

# Channels by campaign number (n % 9), in the dashboard seed's order: its data depend on it.
_CHANNELS = ["email", "sms", "phone", "mail", "event", "webinar", "social", "web", "other"]

# Paragraphs the Markdown bodies are assembled from, picked by campaign number so the
# bodies vary without random draws (the dashboard's random sequence stays the same with
# or without bodies).
_HEADINGS = [
    "Ce que reçoivent les clients",
    "Le message envoyé",
    "Contenu de la campagne",
    "Ce que le client a sous les yeux",
    "L'offre en bref",
]
_OPENINGS = [
    "Les clients reçoivent une offre de **parrainage** : pour chaque ami qui ouvre un "
    "compte avec leur code, ils gagnent un mois d'abonnement offert. Le code est valable "
    "jusqu'à la fin du trimestre et se cumule avec les remises en cours.",
    "Un rappel de renouvellement avant l'échéance du contrat, avec la nouvelle grille "
    "tarifaire et un lien vers l'espace client pour changer de formule sans frais.",
    "Une invitation au webinaire de présentation des nouveautés de l'application mobile : "
    "paiement sans contact, suivi de consommation et notifications personnalisées.",
    "La lettre d'information trimestrielle : actualités du service, conseils d'utilisation "
    "et témoignages de clients, avec un encart sur les horaires d'ouverture des agences.",
    "Une enquête de satisfaction de cinq questions après un échange avec le service "
    "client ; les réponses sont anonymes et servent à améliorer l'accueil téléphonique.",
    "L'annonce du changement de conditions générales au 1er du mois prochain, avec le "
    "résumé des trois points qui changent et le lien vers le texte complet.",
    "Une offre de bienvenue pour les nouveaux clients : frais de mise en service offerts "
    "et accompagnement personnalisé pendant les trente premiers jours.",
]
_DETAILS = [
    "Le message part en trois vagues, le matin, pour étaler les appels entrants sur la "
    "journée. Les clients professionnels reçoivent une version adaptée, sans le visuel.",
    "Les clients ayant déjà souscrit l'option ne sont pas ciblés ; ceux qui ont refusé la "
    "prospection commerciale non plus. Prévoir des questions sur la date de prélèvement.",
    "Le lien de l'e-mail mène à une page dédiée ; en cas de problème d'affichage, le client "
    "peut retrouver l'offre dans son espace personnel, rubrique *Mes avantages*.",
    "Les agences ont reçu les affiches la semaine dernière. Le service client dispose "
    "d'une fiche réponse dans la base de connaissances (article 2041).",
    "La campagne est doublée d'un SMS de rappel deux jours avant la fin de l'offre, "
    "uniquement pour les clients qui n'ont pas ouvert l'e-mail.",
    "Un échantillon de 5 % des clients sert de groupe témoin et ne reçoit rien : ne pas "
    "s'étonner si un client n'a pas eu le message.",
    "Le visuel reprend la charte de l'année ; la version imprimée est envoyée aux clients "
    "sans adresse e-mail, avec un coupon-réponse.",
]
_TALKING_POINTS = [
    "Rappeler que l'offre est **sans engagement** et résiliable à tout moment.",
    "Le code de parrainage se trouve dans l'espace client, onglet *Mon compte*.",
    "Aucun changement de tarif pour les clients actuels avant le renouvellement.",
    "Orienter les réclamations vers le formulaire en ligne plutôt que par téléphone.",
    "Les clients professionnels ont un interlocuteur dédié : transférer l'appel.",
    "En cas de doute sur l'éligibilité, vérifier le segment dans la fiche client.",
]
_FAQ = [
    (
        "Le client n'a pas reçu l'e-mail ?",
        "Vérifier l'adresse dans la fiche client et le dossier des indésirables ; l'offre "
        "reste accessible depuis l'espace personnel.",
    ),
    (
        "Peut-on appliquer l'offre rétroactivement ?",
        "Non : seules les souscriptions faites pendant la période de l'offre comptent.",
    ),
    (
        "Le client veut se désinscrire ?",
        "Le lien de désinscription est en bas du message ; la demande est prise en compte "
        "sous 48 heures.",
    ),
    (
        "Le lien ne fonctionne pas ?",
        "Proposer de passer par l'application ou de recevoir le lien par SMS.",
    ),
]
_SUMMARIES = [
    "Offre de parrainage pour les clients particuliers.",
    "Rappel de renouvellement avant échéance.",
    "Invitation au webinaire des nouveautés.",
    "Lettre d'information du trimestre.",
    "Enquête de satisfaction après contact.",
    "Changement des conditions générales.",
    "Offre de bienvenue des nouveaux clients.",
]
_FEEDBACK = [
    ("question", "Un client demande si l'offre est cumulable avec la remise fidélité."),
    ("message", "Plusieurs appels ce matin sur la date de prélèvement, la fiche aide bien."),
    ("positive", "Très bon retour en agence, les clients trouvent l'offre claire."),
    ("negative", "Le lien de l'e-mail renvoie vers une page d'erreur pour certains clients."),
    ("neutral", "Peu de questions pour l'instant, surtout des demandes de code."),
    ("question", "Faut-il proposer l'offre aux clients professionnels qui appellent ?"),
    ("message", "Réponse du marketing : oui pour les pros, avec le code dédié."),
    ("positive", "Un client a parrainé trois amis dans la journée."),
]


@dataclass(frozen=True)
class LoadFixtures:
    """What the load benchmark's pages point at, read back from a seeded database."""

    busy_campaign_id: int  # the announced campaign with the long thread and timeline
    busy_month: str  # YYYY-MM: the month with the most launches
    team_slug: str  # the lead's team, for the team page
    subscription_token: str  # the advisor's secret feed address
    search_word: str


def seed_campaigns(campaigns: int, *, bodies: bool = False) -> None:
    """The dashboard's data set (see the module docstring), in one transaction."""
    from django.db import connection, transaction

    from accounts.models import User
    from campaigns.models import Acknowledgement, Campaign, CampaignEvent, Stakeholder
    from teams.models import Membership, Team

    campaign = Campaign._meta.db_table
    stakeholder = Stakeholder._meta.db_table
    acknowledgement = Acknowledgement._meta.db_table
    membership = Membership._meta.db_table
    user_table = User._meta.db_table
    team_table = Team._meta.db_table
    with transaction.atomic():
        _seed_people()
        with (
            connection.cursor() as cursor,
            _bulk_load(cursor, [Campaign, Stakeholder, Acknowledgement, CampaignEvent]),
        ):
            cursor.execute("SELECT setseed(0.42)")
            # Campaign n was announced n * (730 days / N) ago; the launch follows 1 to 10
            # days later. Launched more than 30 days ago: done (3 % cancelled, 1 % of
            # them by override); the others announced. 2 % drafts, never announced.
            # 5 % had a material change: version 2. Bodies are picked by n, not drawn,
            # so that they leave the random sequence (and the dashboard's data) alone.
            launched_long_ago = "announced + launch_delay <= now() - interval '30 days'"
            _insert_select(
                cursor,
                Campaign,
                {
                    "title": "'Campagne ' || n",
                    "channel": "(%(channels)s::text[])[1 + n %% 9]",
                    "audience": "'Segment ' || (n %% 40)",
                    "estimated_recipients": "1000 + (n * 37) %% 50000",
                    "launch_at": "announced + launch_delay",
                    "owner_id": f"""(SELECT id FROM {user_table}
                        WHERE email = 'marketer' || (n %% {MARKETERS}) || '@bench.test')""",
                    "summary": "CASE WHEN %(bodies)s THEN (%(summaries)s::text[])[1 + n %% 7] "
                    "ELSE '' END",
                    "body": f"CASE WHEN %(bodies)s THEN {_BODY_SQL} ELSE '' END",
                    "status": f"""CASE
                        WHEN draw < 0.02 THEN 'draft'
                        WHEN NOT ({launched_long_ago}) THEN 'announced'
                        WHEN draw < 0.05 THEN 'cancelled'
                        ELSE 'done' END""",
                    "version": "CASE WHEN draw BETWEEN 0.5 AND 0.55 THEN 2 ELSE 1 END",
                    "done_override_reason": f"""CASE
                        WHEN draw BETWEEN 0.05 AND 0.06 AND {launched_long_ago}
                        THEN 'Launched before the regional team answered' ELSE '' END""",
                    "announced_at": "CASE WHEN draw < 0.02 THEN NULL ELSE announced END",
                    "done_at": f"""CASE WHEN draw >= 0.05 AND {launched_long_ago}
                        THEN announced + launch_delay + interval '3 days' END""",
                    "cancelled_at": f"""CASE WHEN draw >= 0.02 AND draw < 0.05
                        AND {launched_long_ago} THEN announced + interval '1 day' END""",
                    "created_at": "announced - interval '2 days'",
                    "updated_at": "announced",
                },
                """
                FROM (
                    SELECT n, random() AS draw,
                           now() - n * (interval '730 days' / %(campaigns)s) AS announced,
                           (1 + floor(random() * 10)) * interval '1 day' AS launch_delay
                    FROM generate_series(1, %(campaigns)s) AS n
                ) AS seed
                """,
                {
                    "campaigns": campaigns,
                    "channels": _CHANNELS,
                    "bodies": bodies,
                    "summaries": _SUMMARIES,
                    "headings": _HEADINGS,
                    "openings": _OPENINGS,
                    "details": _DETAILS,
                    "points": _TALKING_POINTS,
                    "questions": [question for question, _answer in _FAQ],
                    "answers": [answer for _question, answer in _FAQ],
                },
            )
            # One row per campaign and team, due 48 h after the announcement. 90 % of
            # the teams acknowledged (50 % to 82 % of those within the deadline, by
            # team); a version-2 campaign has 1 team in 3 still on version 1.
            pending = "c.status = 'draft' OR r.draw >= 0.9"
            _insert_select(
                cursor,
                Stakeholder,
                {
                    "campaign_id": "c.id",
                    "team_id": "t.id",
                    "due_at": "c.announced_at + interval '48 hours'",
                    "acknowledged_version": f"""CASE
                        WHEN {pending} THEN NULL
                        WHEN c.version = 2 AND r.draw < 0.3 THEN 1
                        ELSE c.version END""",
                    "acknowledged_at": f"CASE WHEN {pending} THEN NULL "
                    "ELSE c.announced_at + r.delay END",
                },
                f"""
                FROM {campaign} c
                CROSS JOIN {team_table} t
                CROSS JOIN LATERAL (
                    -- "+ 0 * id" makes PostgreSQL draw again for every campaign and team.
                    SELECT random() + 0 * (c.id + t.id) AS draw,
                           CASE WHEN random() + 0 * (c.id + t.id) < 0.5 + 0.08 * mod(t.id, 5)
                                THEN random() * interval '47 hours'
                                ELSE interval '48 hours' + random() * interval '5 days'
                           END AS delay
                ) r
                """,
            )
            cursor.execute(
                f"""
                UPDATE {stakeholder} s SET due_at = NULL FROM {campaign} c
                WHERE c.id = s.campaign_id AND c.status = 'draft'
                """
            )
            # A company's history has had its reminders and escalations: the teams late
            # today were escalated when their due date passed, and those due in the next
            # days were reminded (beyond any team's working-hours lead time). Otherwise
            # the first weekday tick of beat catches up on two years at once (about 11,000
            # notices, 30 s of the worker's queries) in the middle of a measure.
            cursor.execute(
                f"""
                UPDATE {stakeholder} s
                SET reminded_version = c.version,
                    escalated_version = CASE WHEN s.due_at <= now() THEN c.version END
                FROM {campaign} c
                WHERE c.id = s.campaign_id AND s.due_at <= now() + interval '7 days'
                """
            )
            # The acknowledgements behind them: the first member for an "any member"
            # team, every member for the "every member" one.
            _insert_select(
                cursor,
                Acknowledgement,
                {
                    "stakeholder_id": "s.id",
                    "user_id": "m.user_id",
                    "version": "s.acknowledged_version",
                    "created_at": "s.acknowledged_at",
                },
                f"""
                FROM {stakeholder} s
                JOIN {team_table} t ON t.id = s.team_id
                JOIN {membership} m ON m.team_id = t.id
                WHERE s.acknowledged_version IS NOT NULL
                  AND (t.ack_policy = 'every' OR m.id = (
                      SELECT min(id) FROM {membership} WHERE team_id = t.id))
                """,
            )
            # The first member by id, so that two seeds agree (an "every member" team
            # has several acknowledgements per row).
            cursor.execute(
                f"""
                UPDATE {stakeholder} s SET acknowledged_by_id = a.user_id
                FROM (
                    SELECT stakeholder_id, min(user_id) AS user_id
                    FROM {acknowledgement} GROUP BY stakeholder_id
                ) a
                WHERE a.stakeholder_id = s.id
                """
            )
            _insert_select(
                cursor,
                CampaignEvent,
                {
                    "campaign_id": "id",
                    "kind": "CASE WHEN done_override_reason <> '' THEN 'done_overridden' "
                    "ELSE 'done' END",
                    "version": "version",
                    "details": "CASE WHEN done_override_reason <> '' "
                    "THEN jsonb_build_object('reason', done_override_reason) "
                    "ELSE '{}'::jsonb END",
                    "created_at": "done_at",
                },
                f"FROM {campaign} WHERE status = 'done'",
            )


# About 1.2 kB of Markdown per campaign: a heading, two paragraphs, three talking points,
# a question and its answer, a link. Each part is picked by a different digit of n.
_BODY_SQL = """(
    '## ' || (%(headings)s::text[])[1 + n %% 5] || E'\\n\\n'
    || (%(openings)s::text[])[1 + n %% 7] || E'\\n\\n'
    || (%(details)s::text[])[1 + (n / 7) %% 7] || E'\\n\\n'
    || E'### Points clés pour les conseillers\\n\\n'
    || '- ' || (%(points)s::text[])[1 + n %% 6] || E'\\n'
    || '- ' || (%(points)s::text[])[1 + (n / 6 + 1) %% 6] || E'\\n'
    || '- ' || (%(points)s::text[])[1 + (n / 36 + 2) %% 6] || E'\\n\\n'
    || E'### Questions fréquentes\\n\\n'
    || '**' || (%(questions)s::text[])[1 + (n / 3) %% 4] || E'**\\n'
    || (%(answers)s::text[])[1 + (n / 3) %% 4] || E'\\n\\n'
    || '[Conditions de l''offre](https://offres.example.com/campagnes/' || n || ')'
)"""


def _insert_select(
    cursor: "CursorWrapper",
    model: type["Model"],
    values: dict[str, str],
    rest: str,
    params: dict[str, object] | None = None,
    *,
    if_present: dict[str, str] | None = None,
) -> None:
    """`INSERT INTO <model's table> (...) SELECT ... <rest>`, where `values` gives the SQL
    expression of the columns the seed decides, and every other column gets its model
    field's default, as `Model.objects.create()` would (auto_now fields: now()). So a
    column added to a model later does not break the seed; one whose value matters to
    the pages belongs in `values` (or in `if_present`, for a column only some versions
    of the code have). A column in `values` the model no longer has is an error."""
    from django.db import connection
    from django.db.models import DateTimeField

    params = dict(params or {})
    chosen = {**(if_present or {}), **values}
    fields = {field.column: field for field in model._meta.concrete_fields}
    unknown = set(values) - set(fields)
    if unknown:
        raise ValueError(f"{model.__name__} has no column {', '.join(sorted(unknown))}")
    columns, expressions = [], []
    for column, field in fields.items():
        if column in chosen:
            expression = chosen[column]
        elif field.primary_key:
            continue  # the sequence's
        elif isinstance(field, DateTimeField) and (field.auto_now or field.auto_now_add):
            expression = "now()"
        else:
            params[f"default_{column}"] = field.get_db_prep_save(field.get_default(), connection)
            expression = f"%(default_{column})s"
        columns.append(column)
        expressions.append(expression)
    cursor.execute(
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) "
        f"SELECT {', '.join(expressions)} {rest}",
        params,
    )


@contextlib.contextmanager
def _bulk_load(cursor: "CursorWrapper", models: list[type["Model"]]) -> Iterator[None]:
    """Load the tables of `models` the way PostgreSQL's manual advises ("Populating a
    Database"): their secondary indexes and foreign keys are dropped, then created again
    from their own definitions once the rows are in, inside the same transaction.
    Building an index once is several times faster than updating it row by row, and
    adding a foreign key checks it with one join instead of a trigger per row (25 s for
    the 1.7 million rows of 100,000 campaigns). Constraint indexes (primary keys, unique
    fields) and triggers stay: the app's own triggers must see every row. The schema
    measured afterwards is exactly the migrated one."""
    tables = [model._meta.db_table for model in models]
    cursor.execute(
        """
        SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
        FROM pg_index i
        WHERE i.indrelid = ANY(%s::regclass[])
          AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
        """,
        [tables],
    )
    indexes = cursor.fetchall()
    cursor.execute(
        """
        SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
        FROM pg_constraint WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])
        """,
        [tables],
    )
    foreign_keys = cursor.fetchall()
    for table, name, _definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        cursor.execute(f"DROP INDEX {name}")
    yield
    # Checks left pending by earlier writes would keep PostgreSQL from building an index.
    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, definition in indexes:
        cursor.execute(definition)
    for table, name, definition in foreign_keys:
        cursor.execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def _seed_people() -> None:
    """Manager, marketers, teams and their members (the lead leads the first team)."""
    from allauth.account.models import EmailAddress
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group

    from accounts.models import User
    from teams.models import Membership, Team
    from teams.roles import MANAGER, MARKETER

    password = make_password(BENCH_PASSWORD)

    def person(email: str, full_name: str) -> User:
        return User(email=email, full_name=full_name, password=password)

    manager = person("manager@bench.test", "Bench Manager")
    marketers = [person(f"marketer{i}@bench.test", f"Marketer {i}") for i in range(MARKETERS)]
    teams: list[tuple[Team, list[User], User | None]] = []
    number = 0
    for position, (name, slug, policy, size) in enumerate(TEAMS):
        team = Team(name=name, slug=slug, ack_policy=policy, ack_deadline_hours=48)
        members = []
        for _ in range(size):
            number += 1
            members.append(person(f"advisor{number}@bench.test", f"Advisor {number}"))
        lead = person("lead@bench.test", "Bench Lead") if position == 0 else None
        teams.append((team, members, lead))
    # Created in this order (the dashboard's seed always had these ids).
    people = [manager, *marketers]
    for _team, members, lead in teams:
        people += members + ([lead] if lead else [])
    User.objects.bulk_create(people)
    Team.objects.bulk_create([team for team, _members, _lead in teams])
    Membership.objects.bulk_create(
        [
            Membership(team=team, user=user, role=role)
            for team, members, lead in teams
            for user, role in [(m, Membership.Role.MEMBER) for m in members]
            + ([(lead, Membership.Role.LEAD)] if lead else [])
        ]
    )
    manager.groups.add(Group.objects.get(name=MANAGER))
    Group.objects.get(name=MARKETER).user_set.add(*marketers)
    EmailAddress.objects.bulk_create(
        EmailAddress(user=user, email=user.email, primary=True, verified=True) for user in people
    )


def seed_load_extras(*, notices_per_person: int) -> None:
    """The load benchmark's additions to `seed_campaigns(..., bodies=True)`, in one
    transaction: in-app notices, the thread messages, the busy campaign's timeline, the
    advisor's subscription token."""
    import secrets

    from django.db import connection, transaction

    from accounts.models import User
    from campaigns.models import Campaign, CampaignEvent, Feedback
    from notifications.models import Dispatch, Notification, SubscriptionToken
    from teams.models import Membership

    campaign = Campaign._meta.db_table
    dispatch = Dispatch._meta.db_table
    user_table = User._meta.db_table
    membership = Membership._meta.db_table
    with (
        transaction.atomic(),
        connection.cursor() as cursor,
        _bulk_load(cursor, [Dispatch, Notification, Feedback, CampaignEvent]),
    ):
        cursor.execute("SELECT setseed(0.24)")
        # One "announced" dispatch for each of the latest announced campaigns, and a
        # "changed" one for those at version 2, as campaign_announce and campaign_update
        # write them: a snapshot of the campaign (notifications.payload).
        cursor.execute(
            f"""
            CREATE TEMPORARY TABLE bench_recent ON COMMIT DROP AS
            SELECT id FROM {campaign} WHERE announced_at IS NOT NULL
            ORDER BY announced_at DESC LIMIT %s
            """,
            [notices_per_person],
        )
        _insert_select(
            cursor,
            Dispatch,
            {
                "campaign_id": "c.id",
                "campaign_version": "v.version",
                "kind": "v.kind",
                "payload": """jsonb_build_object(
                    'campaign_id', c.id, 'version', v.version, 'title', c.title,
                    'channel', c.channel,
                    'channel_label',
                        (%(labels)s::text[])[array_position(%(channels)s::text[], c.channel)],
                    'status', 'announced', 'audience', c.audience,
                    'estimated_recipients', c.estimated_recipients,
                    'launch_at', to_jsonb(c.launch_at), 'ends_at', to_jsonb(c.ends_at),
                    'summary', c.summary, 'body', c.body,
                    'owner_name', u.full_name, 'owner_email', u.email,
                    'path', '/campaigns/' || c.id || '/'
                ) || CASE WHEN v.kind = 'changed'
                          THEN '{"changes": ["body"]}'::jsonb ELSE '{}'::jsonb END""",
                "created_at": "c.announced_at + v.delay",
            },
            f"""
            FROM {campaign} c
            JOIN bench_recent r ON r.id = c.id
            JOIN {user_table} u ON u.id = c.owner_id
            CROSS JOIN LATERAL (
                VALUES (1, 'announced', interval '0'), (2, 'changed', interval '1 day')
            ) AS v (version, kind, delay)
            WHERE v.version <= c.version
            """,
            {
                "channels": list(Campaign.Channel.values),
                # The English source text, as notification_payload stores it.
                "labels": _english_labels(),
            },
            # Written out already (the rows below), where the outbox records that.
            if_present={"expanded_at": "c.announced_at + v.delay"},
        )
        # Every team member, the manager and the first marketer get each one in-app (the
        # row is the message: status "sent"); all read except the 12 newest and 3 %.
        # Inserted in the order the outbox would have written them.
        _insert_select(
            cursor,
            Notification,
            {
                "recipient_id": "p.id",
                "campaign_id": "d.campaign_id",
                "campaign_version": "d.campaign_version",
                "kind": "d.kind",
                "channel": "'in_app'",
                "status": "'sent'",
                "next_attempt_at": "d.created_at",
                "sent_at": "d.created_at",
                "read_at": "CASE WHEN d.rank <= 12 OR random() < 0.03 THEN NULL "
                "ELSE d.created_at + interval '2 hours' END",
                "created_at": "d.created_at",
                "dedupe_key": "d.campaign_id || ':' || d.campaign_version || ':' || d.kind "
                "|| ':u' || p.id || ':in_app'",
                "dispatch_id": "d.id",
            },
            f"""
            FROM (
                SELECT *, row_number() OVER (ORDER BY created_at DESC, id DESC) AS rank
                FROM {dispatch}
            ) AS d
            CROSS JOIN (
                SELECT user_id AS id FROM {membership}
                UNION SELECT id FROM {user_table} WHERE email IN (%(manager)s, %(marketer)s)
            ) AS p
            ORDER BY d.created_at, p.id
            """,
            {"manager": LOGINS["manager"], "marketer": LOGINS["marketer"]},
            if_present={"window_started_at": "d.created_at"},
        )
        busy_id = _seed_busy_campaign(cursor)
        _seed_feedback(cursor, except_campaign=busy_id)
        advisor = User.objects.get(email=LOGINS["advisor"])
        SubscriptionToken.objects.create(user=advisor, token=secrets.token_urlsafe(32))


def _english_labels() -> list[str]:
    from django.utils import translation

    from campaigns.models import Campaign

    with translation.override(None):
        return [str(label) for label in Campaign.Channel.labels]


def _seed_busy_campaign(cursor: "CursorWrapper") -> int:
    """The announced campaign launching last gets 300 thread messages and ~150 timeline
    events (edits, acknowledgements of two versions with notes, withdrawals, each team's
    acknowledgement, the version bump between them); it becomes version 2, with half of
    its teams still to acknowledge it. Returns its id."""
    from campaigns.models import Campaign, CampaignEvent, Feedback, Stakeholder
    from teams.models import Membership, Team

    campaign = Campaign._meta.db_table
    membership = Membership._meta.db_table
    team_table = Team._meta.db_table
    cursor.execute(
        f"""
        SELECT id FROM {campaign} WHERE status = 'announced'
        ORDER BY launch_at DESC, id DESC LIMIT 1
        """
    )
    row = cursor.fetchone()
    if row is None:
        raise RuntimeError("No announced campaign to give a thread to: seed more campaigns.")
    busy = {"id": row[0]}
    cursor.execute(f"UPDATE {campaign} SET version = 2 WHERE id = %(id)s", busy)
    cursor.execute(
        f"""
        UPDATE {Stakeholder._meta.db_table}
        SET acknowledged_version = CASE WHEN team_id %% 2 = 0 THEN 2 ELSE 1 END
        WHERE campaign_id = %(id)s AND acknowledged_version IS NOT NULL
        """,
        busy,
    )
    # 300 messages by the team members in turn, 20 minutes apart from the announcement.
    _insert_select(
        cursor,
        Feedback,
        {
            "campaign_id": "c.id",
            "author_id": "m.user_id",
            "tag": "(%(tags)s::text[])[1 + i %% %(count)s]",
            "body": "(%(bodies)s::text[])[1 + i %% %(count)s] || ' (#' || i || ')'",
            "created_at": "c.announced_at + i * interval '20 minutes'",
        },
        f"""
        FROM generate_series(1, 300) AS i
        JOIN {campaign} c ON c.id = %(id)s
        JOIN (SELECT user_id, row_number() OVER (ORDER BY id) AS k FROM {membership}) AS m
          ON m.k = 1 + i %% (SELECT count(*) FROM {membership})
        """,
        {**busy, **_feedback_params()},
    )
    # The timeline: created, 25 edits, announced, each member's acknowledgement of
    # version 1 (1 in 4 with a note; every tenth withdrawn), each team's, the version
    # bump, and the same acknowledgements of version 2: 148 events with the 5 teams.
    _insert_select(
        cursor,
        CampaignEvent,
        {
            "campaign_id": "e.campaign_id",
            "actor_id": "e.actor_id",
            "kind": "e.kind",
            "version": "e.version",
            "details": "e.details",
            "created_at": "e.created_at",
        },
        f"""
        FROM (
            SELECT c.id AS campaign_id, c.owner_id AS actor_id, e.kind, e.version,
                   e.details, c.announced_at + e.minutes * interval '1 minute' AS created_at
            FROM {campaign} c
            CROSS JOIN (
                VALUES ('created', 1, '{{}}'::jsonb, -2880),
                       ('announced', 1, '{{}}'::jsonb, 0),
                       ('version_bumped', 2, '{{"fields": ["body", "launch_at"]}}'::jsonb,
                        3000)
            ) AS e (kind, version, details, minutes)
            WHERE c.id = %(id)s
            UNION ALL
            SELECT c.id, c.owner_id, 'edited', 1, '{{"fields": ["summary", "body"]}}'::jsonb,
                   c.announced_at - (2880 - i * 100) * interval '1 minute'
            FROM {campaign} c CROSS JOIN generate_series(1, 25) AS i WHERE c.id = %(id)s
            UNION ALL
            SELECT c.id, m.user_id, k.kind, v.version,
                   jsonb_build_object('team', t.name) || CASE WHEN m.k %% 4 = 0
                       THEN jsonb_build_object('note', 'Lu, transmis à l''équipe du matin.')
                       ELSE '{{}}'::jsonb END,
                   c.announced_at + (v.start + m.k * 7 + k.later) * interval '1 minute'
            FROM {campaign} c
            CROSS JOIN (VALUES (1, 10), (2, 3010)) AS v (version, start)
            CROSS JOIN (
                SELECT user_id, team_id,
                       row_number() OVER (PARTITION BY team_id ORDER BY id) AS k
                FROM {membership}
            ) AS m
            JOIN {team_table} t ON t.id = m.team_id
            CROSS JOIN LATERAL (
                SELECT 'acknowledged' AS kind, 0 AS later
                UNION ALL SELECT 'ack_revoked', 5 WHERE m.k %% 10 = 0
            ) AS k
            WHERE c.id = %(id)s
            UNION ALL
            SELECT c.id, NULL, 'team_acknowledged', v.version,
                   jsonb_build_object('team', t.name),
                   c.announced_at + v.start * interval '1 minute'
            FROM {campaign} c CROSS JOIN {team_table} t
            CROSS JOIN (VALUES (1, 180), (2, 3180)) AS v (version, start)
            WHERE c.id = %(id)s
        ) AS e
        """,
        busy,
    )
    return int(busy["id"])


def _feedback_params() -> dict[str, object]:
    return {
        "tags": [tag for tag, _body in _FEEDBACK],
        "bodies": [body for _tag, body in _FEEDBACK],
        "count": len(_FEEDBACK),
    }


def _seed_feedback(cursor: "CursorWrapper", *, except_campaign: int) -> None:
    """0 to 4 thread messages (2 on average) on every announced campaign but the busy
    one: the thread table is as big as the campaigns table, so a plan that reads it
    whole shows up in the report rather than passing for cheap on a 300-row table."""
    from campaigns.models import Campaign, Feedback
    from teams.models import Membership

    membership = Membership._meta.db_table
    _insert_select(
        cursor,
        Feedback,
        {
            "campaign_id": "c.id",
            "author_id": "m.user_id",
            "tag": "(%(tags)s::text[])[1 + (c.id + i) %% %(count)s]",
            "body": "(%(bodies)s::text[])[1 + (c.id + i) %% %(count)s]",
            "created_at": "c.announced_at + i * interval '3 hours'",
        },
        f"""
        FROM {Campaign._meta.db_table} c
        CROSS JOIN LATERAL generate_series(1, (c.id * 7) %% 5) AS i
        JOIN (SELECT user_id, row_number() OVER (ORDER BY id) - 1 AS k FROM {membership}) m
          ON m.k = (c.id + i) %% (SELECT count(*) FROM {membership})
        WHERE c.announced_at IS NOT NULL AND c.id <> %(busy)s
        ORDER BY c.announced_at, i
        """,
        {"busy": except_campaign, **_feedback_params()},
    )


def load_fixtures() -> LoadFixtures:
    """The ids and values the pages need, read from the database (works with --reuse)."""
    from django.conf import settings
    from django.db import connection

    from campaigns.models import Campaign, Feedback
    from notifications.models import SubscriptionToken

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT campaign_id FROM {Feedback._meta.db_table}
            GROUP BY campaign_id ORDER BY count(*) DESC, campaign_id LIMIT 1
            """
        )
        (busy_id,) = cursor.fetchone()
        cursor.execute(
            f"""
            SELECT to_char(date_trunc('month', launch_at AT TIME ZONE %s), 'YYYY-MM')
            FROM {Campaign._meta.db_table}
            WHERE status <> 'draft' AND launch_at IS NOT NULL
            GROUP BY 1 ORDER BY count(*) DESC, 1 DESC LIMIT 1
            """,
            [settings.TIME_ZONE],
        )
        (busy_month,) = cursor.fetchone()
    token = SubscriptionToken.objects.get(user__email=LOGINS["advisor"]).token
    return LoadFixtures(
        busy_campaign_id=busy_id,
        busy_month=busy_month,
        team_slug=LEAD_TEAM_SLUG,
        subscription_token=token,
        search_word=SEARCH_WORD,
    )


def has_campaigns() -> bool:
    """Whether the database already holds a seeded data set (for --reuse)."""
    from django.db import connection
    from django.db.utils import OperationalError, ProgrammingError

    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) > 0 FROM campaigns_campaign")
            row = cursor.fetchone()
    except (OperationalError, ProgrammingError):
        return False
    return bool(row and row[0])


def has_load_extras() -> bool:
    """Whether the load benchmark's additions are there too (the last thing seeded)."""
    if not has_campaigns():
        return False
    from notifications.models import SubscriptionToken

    return SubscriptionToken.objects.filter(user__email=LOGINS["advisor"]).exists()


def print_sizes() -> None:
    """Row counts of the big tables, and campaigns by status."""
    from django.db import connection

    tables = [
        "campaigns_campaign",
        "campaigns_stakeholder",
        "campaigns_acknowledgement",
        "campaigns_campaignevent",
        "campaigns_feedback",
        "notifications_dispatch",
        "notifications_notification",
    ]
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT count(*) FROM {table}")
            (count,) = cursor.fetchone()
            print(f"{table}: {count:,} rows")
        cursor.execute("SELECT status, count(*) FROM campaigns_campaign GROUP BY 1 ORDER BY 1")
        by_status = cursor.fetchall()
    print("campaigns by status: " + ", ".join(f"{s} {n:,}" for s, n in by_status))
