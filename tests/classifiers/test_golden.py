"""Golden multilingual examples per head, written for this project, and robustness of the whole
bundle (empty text, emoji only, 100 KB text, mixed languages). Uses the committed heads."""

from __future__ import annotations

import pytest

from classifiers.bundle import TASKS, Classifier, PostInput
from classifiers.language import LanguageTask

LANGUAGE = [
    ("en", "The city council opened new language courses for refugees this week."),
    ("de", "Die Stadt hat neue Sprachkurse für Geflüchtete und Arbeitssuchende eröffnet."),
    ("nl", "De gemeente opent nieuwe taalcursussen voor nieuwkomers en statushouders."),
    ("sv", "Staden öppnar nya språkkurser för nyanlända och asylsökande i höst."),
    ("fr", "La ville ouvre de nouveaux cours de langue pour les réfugiés cette semaine."),
    ("es", "El ayuntamiento abre nuevos cursos de idiomas para las personas refugiadas."),
    ("it", "Il comune apre nuovi corsi di lingua per i rifugiati e i richiedenti asilo."),
    ("el", "Ο δήμος ανοίγει νέα μαθήματα γλώσσας για πρόσφυγες και μετανάστες."),
    ("pl", "Miasto otwiera nowe kursy językowe dla uchodźców i migrantów."),
    ("pt", "A câmara abre novos cursos de língua para refugiados e imigrantes."),
    ("da", "Kommunen åbner nye sprogkurser for flygtninge og indvandrere i efteråret."),
    ("fi", "Kaupunki avaa uusia kielikursseja pakolaisille ja maahanmuuttajille."),
]


@pytest.mark.parametrize(("lang", "text"), LANGUAGE)
def test_language_of_each_platform_language(lang: str, text: str) -> None:
    got, confidence = LanguageTask().identify(text)
    assert got == lang and confidence > 0.6


def test_language_ignores_noise_and_uses_the_hint_only_as_a_prior() -> None:
    task = LanguageTask()
    noisy = (
        "😡😡 @user https://t.co/x1Yz #Wohnungsnot Die Mieten in der Stadt sind unbezahlbar!!! 🏠"
    )
    assert task.identify(noisy)[0] == "de"
    assert task.identify("🙂🙂 👍 https://example.org [email]", "de") == ("und", 0.0)
    # a short ambiguous post follows the platform's declared language ...
    assert task.identify("Danke!", "de")[0] == "de"
    # ... a long one overrides a wrong hint
    assert task.identify(LANGUAGE[4][1], "de")[0] == "fr"


SENTIMENT = [
    ("positive", "I love this city, the new community centre is wonderful and everyone is so welcoming!"),
    ("negative", "This is a disaster, the council failed us again and nobody cares."),
    ("positive", "Was für ein schöner Tag, ich bin so dankbar für die Hilfe meiner Nachbarn!"),
    ("negative", "Das ist eine Katastrophe, die Behörden haben wieder komplett versagt."),
    ("positive", "Quelle belle initiative, je suis ravie, merci à tous les bénévoles !"),
    ("negative", "C'est honteux, rien ne fonctionne et tout le monde s'en fiche."),
    ("positive", "¡Qué alegría! Por fin una buena noticia para el barrio, estoy feliz."),
    ("negative", "Es una vergüenza, el servicio es pésimo y nadie responde."),
    ("positive", "Che bella notizia, sono felicissima per tutte le famiglie!"),
    ("positive", "Wat een geweldig initiatief, ik ben echt blij en trots op onze buurt!"),
    ("negative", "Det här är helt fruktansvärt, ingen bryr sig om oss längre."),
    ("positive", "Τι υπέροχη πρωτοβουλία, είμαι πολύ χαρούμενη!"),
    ("neutral", "The council meeting is scheduled for Tuesday at 10am in room 4."),
    ("neutral", "Die Sitzung des Stadtrats findet am Dienstag um 10 Uhr statt."),
]  # fmt: skip


def test_sentiment_golden_examples(classifier: Classifier) -> None:
    results = classifier.classify([PostInput(t) for _, t in SENTIMENT], {"sentiment"})
    got = [r.sentiment for r in results]
    assert got == [label for label, _ in SENTIMENT]
    for r in results:
        assert abs(sum(r.sentiment_proba.values()) - 1) < 1e-3
        assert r.sentiment_score == max(r.sentiment_proba.values())


HATE = [
    (True, "Send them all back, these invaders are destroying our country."),
    (True, "Questi immigrati sono bestie, vanno rimandati tutti a casa loro."),
    (True, "Estos inmigrantes son basura, fuera de nuestro país."),
    (False, "The library opens at nine tomorrow, see you there."),
    (False, "Heute gibt es leckeren Kuchen im Café am Markt."),
    (False, "Domani c'è il mercato in piazza, venite numerosi."),
    (False, "Le marché de Noël ouvre samedi sur la place."),
    (False, "Die Sitzung des Stadtrats findet am Dienstag um 10 Uhr statt."),
]


def test_hate_golden_examples(classifier: Classifier) -> None:
    results = classifier.classify([PostInput(t) for _, t in HATE], {"hate"})
    assert [r.hate for r in results] == [h for h, _ in HATE]
    hateful = [r.hate_score for (h, _), r in zip(HATE, results, strict=True) if h]
    benign = [r.hate_score for (h, _), r in zip(HATE, results, strict=True) if not h]
    assert min(hateful) > 0.7 and max(benign) < 0.2


AREAS = [
    ("housing", "Rents in Dublin are insane and landlords refuse tenants on housing assistance."),
    ("language", "Die Sprachkurse an der Volkshochschule sind komplett ausgebucht."),
    ("asylum_and_refugees", "Les demandeurs d'asile dorment dans la rue faute de places."),
    ("education", "Los niños refugiados tardan meses en conseguir plaza en el colegio."),
    ("residence_and_irregular_status", "Il permesso di soggiorno è scaduto e la questura non risponde."),
    ("anti_discrimination", "Etnisch profileren door de politie is eindelijk verboden."),
    ("employment", "Många nyanlända får aldrig ett riktigt jobb trots utbildning."),
    ("health_care", "Οι πρόσφυγες στα νησιά δεν έχουν πρόσβαση σε γιατρό."),
    ("language", "Kursy języka polskiego dla uchodźców są przepełnione."),
]  # fmt: skip


def _zero_shot(classifier: Classifier) -> Classifier:
    """The zero-shot area model (the fallback without areas.npz) on the session's encoder."""
    zero_shot = Classifier(encoder=classifier.encoder, area_head=False)
    zero_shot._areas = classifier.areas  # the same prototypes: no second embedding of them
    return zero_shot


def test_area_golden_examples(classifier: Classifier) -> None:
    zero_shot = _zero_shot(classifier)
    results = zero_shot.classify([PostInput(t) for _, t in AREAS], {"areas"})
    for (area, text), r in zip(AREAS, results, strict=True):
        assert area in r.areas, (text, r.areas)
        assert set(r.area_scores) == set(classifier.areas.area_ids)
        assert all(0 <= s <= 1 for s in r.area_scores.values())
    # a keyword of the post's language always tags its area, with a high score
    [r] = zero_shot.classify([PostInput("Arbeitslosigkeit ist ein Problem", "de")], {"areas"})
    assert "employment" in r.areas and r.area_scores["employment"] >= 0.9


def test_one_encoder_pass_per_post(classifier: Classifier, monkeypatch) -> None:
    calls: list[int] = []
    real = classifier.encoder.embed

    def counting(texts, *args, **kwargs):
        calls.append(len(texts))
        return real(texts, *args, **kwargs)

    monkeypatch.setattr(classifier.encoder, "embed", counting)
    classifier.classify([PostInput(t) for _, t in SENTIMENT[:5]])
    assert calls == [5]  # one pass of the 5 posts feeds areas, sentiment and hate
    calls.clear()
    classifier.classify([PostInput("x")], {"language", "cities", "keywords"})
    assert calls == []  # rule-only tasks never load or run the encoder


ROBUST = {
    "empty": "",
    "whitespace": "   \n\t ",
    "emoji": "😡🔥🔥 👍🏽 🇩🇪 #️⃣",
    "huge": ("Die Mieten in Berlin steigen, Wohnungen für Geflüchtete fehlen. " * 1600)[:100_000],
    "mixed": "Wohnungsnot in Berlin! Rents are insane. Les loyers explosent à Paris. Affitti alle stelle a Milano.",
    "control": "line\tbreak\nand\\backslash \x00 nul",
}


def test_robust_to_empty_emoji_huge_and_mixed_posts(classifier: Classifier) -> None:
    results = classifier.classify([PostInput(t) for t in ROBUST.values()])
    by = dict(zip(ROBUST, results, strict=True))
    for name, r in by.items():
        record = r.to_json()
        assert record["sentiment"] in {"negative", "neutral", "positive"}, name
        assert 0 <= record["sentiment_score"] <= 1 and 0 <= record["hate_score"] <= 1
        assert isinstance(record["hate"], bool) and isinstance(record["areas"], list)
        assert len(record["area_scores"]) == 19
    assert by["empty"].lang == by["emoji"].lang == by["whitespace"].lang == "und"
    assert by["empty"].areas == [] and by["empty"].cities == [] and by["empty"].keywords == []
    assert by["huge"].lang == "de" and "housing" in by["huge"].areas
    assert len(by["huge"].keywords) <= 50  # capped
    assert {c.code for c in by["mixed"].cities} == {"DE001C", "FR001C", "IT002C"}
    assert by["mixed"].lang in {"de", "en", "fr", "it"}


def test_every_task_has_a_version_and_the_bundle_one_id(classifier: Classifier) -> None:
    assert set(classifier.versions) == set(TASKS)
    assert all(classifier.versions.values())
    assert classifier.version.startswith("clf-")


def test_rules_run_while_the_encoder_works(classifier: Classifier, monkeypatch) -> None:
    """The encoder pass starts on the worker threads first; language ID, places and keywords run
    meanwhile on the calling thread (no core idles during the serial rules)."""
    import threading

    identified = threading.Event()
    overlapped: list[bool] = []
    real_embed, real_identify = classifier.encoder.embed, classifier.language.identify

    def embed(texts, *args, **kwargs):
        overlapped.append(identified.wait(timeout=30))  # language ID runs meanwhile
        return real_embed(texts, *args, **kwargs)

    def identify(*args, **kwargs):
        identified.set()
        return real_identify(*args, **kwargs)

    monkeypatch.setattr(classifier.encoder, "embed", embed)
    monkeypatch.setattr(classifier.language, "identify", identify)
    [r] = classifier.classify([PostInput("Die Mieten in Berlin steigen weiter.", "de")])
    assert overlapped == [True]
    assert r.lang == "de" and r.sentiment is not None and r.cities
