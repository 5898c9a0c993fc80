"""What a callee says at an outbound opener, through whole simulated calls: doubt is asked
again, never taken for a yes or a no, while doubt beside a request ("maybe later") is that
request."""

from __future__ import annotations

import pytest

from app.campaigns.models import CampaignAttempt
from tests.test_campaigns_calls import IT_NUMBER, UK_NUMBER, ring, rows

ASK_WHEN = {"it": "Quando preferisce essere richiamato?", "en": "When would you like us to call you back?"}
OPENER = {"it": "È un buon momento per parlarne?", "en": "Is this a good time to talk?"}


@pytest.fixture
def settings(settings):
    settings["CAMPAIGN_ACCOUNT_CPS"] = 20
    return settings


@pytest.mark.parametrize(("language", "said"), [("it", "forse più tardi"), ("en", "not sure, maybe later")])
def test_doubt_beside_later_at_the_opener_is_a_wish_to_be_called_later(sim, app, clock, language, said):
    _, (call,) = ring(sim, app, clock, [{"it": IT_NUMBER, "en": UK_NUMBER}[language]],
                      contact_fields={"language": language})
    call.speak(said)
    assert call.heard(ASK_WHEN[language]), call.format_transcript()
    assert rows(app, CampaignAttempt)[0].answers.get("callback_wanted") is True


@pytest.mark.parametrize(("language", "said"), [("it", "non saprei"), ("en", "I'm not sure")])
def test_plain_doubt_at_the_opener_is_asked_again(sim, app, clock, language, said):
    _, (call,) = ring(sim, app, clock, [{"it": IT_NUMBER, "en": UK_NUMBER}[language]],
                      contact_fields={"language": language})
    call.speak(said)
    assert sum(OPENER[language] in s for s in call.said) == 2, call.format_transcript()
    assert not call.heard(ASK_WHEN[language])
