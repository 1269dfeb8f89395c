"""Choose the model and its effort in the page, the way a person does, and check it took.

Today's page (docs/replica.md "Model picker" [PICK]) has one trigger in the composer; it
opens a menu with the "Power" slider (five steps, each sending a model and a
`thinking_effort`) and "Select model", which shows the account's list by title. A choice
the slider makes is moved there with the keyboard (Home, then ArrowRight); any other model
is clicked in the list, which sends that model's default effort. Either is verified by
reading the trigger back (`data-selected-reasoning-effort`, its label), so a page that
ignored the click fails the turn before anything is typed, never after.

The 2025 page has a plain model menu (`data-testid="model-switcher-<slug>"`) and no effort:
a new chat's `/?model=<slug>` chooses there, a follow-up clicks the menu.
"""

from __future__ import annotations

from pathlib import Path

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from browser import diagnostics, selectors
from browser.contract import AskOptions
from browser.errors import WebAppError
from browser.models import ROUTERS, ModelInfo, models_from_payload
from browser.page import control, fetch_json

SLIDER_STEPS: tuple[tuple[str, str, str | None], ...] = (
    ("instant", "gpt-5-6", None),
    ("medium", "gpt-5-6-thinking", "standard"),
    ("high", "gpt-5-6-thinking", "extended"),
    ("very-high", "gpt-5-6-thinking", "max"),
    ("pro", "gpt-6-pro", None),
)
"""The slider's steps, left to right: the trigger's reading and what the POST sends [PICK]."""

CLICK_TIMEOUT = 10_000


async def choose(page: Page, options: AskOptions, *, follow_up: bool, data_dir: Path) -> None:
    """Make the page send `options.model` with `options.effort`; raise before typing if not."""
    if options.model is None:
        if options.effort is not None:
            raise WebAppError("An effort needs a model: name one (slug@effort).", delivered=False)
        return
    try:
        if await page.locator(selectors.any_of(selectors.PICKER_TODAY)).count():
            await _choose_today(page, options.model, options.effort)
        elif options.effort is not None:
            raise WebAppError(
                "This ChatGPT page has no effort levels: ask for the model alone.",
                delivered=False,
            )
        elif follow_up:  # a new chat's `/?model=` chose already
            await _choose_classic(page, options.model)
    except (PlaywrightError, LookupError) as error:
        if page.is_closed():
            raise
        raise WebAppError(
            f"Could not choose {options.model!r}"
            + (f" with effort {options.effort!r}" if options.effort else "")
            + f" in ChatGPT's model picker: {str(error).splitlines()[0]}."
            + await diagnostics.explain(page, "choose-model", data_dir),
            delivered=False,
        ) from None


async def _choose_today(page: Page, slug: str, effort: str | None) -> None:
    if slug in ROUTERS and effort is None:
        # "Let ChatGPT choose" is the page's own default; the account's list need not name it.
        return
    trigger = await control(page, "model_trigger")
    step = next(
        (i for i, (_, model, e) in enumerate(SLIDER_STEPS) if (model, e) == (slug, effort)), None
    )
    await trigger.click(timeout=CLICK_TIMEOUT)
    if step is not None:
        await _slide(page, step)
        expected, title = SLIDER_STEPS[step][0], None
    else:
        info = await _account_model(page, slug)
        if effort not in (None, info.default_effort):
            raise LookupError(
                f"the page chooses {slug} only with its default effort "
                f"({info.default_effort or 'none'}) or through the slider"
            )
        menu = page.locator(selectors.any_of(selectors.PICKER_MENU)).filter(visible=True).first
        await menu.locator(selectors.any_of(selectors.MODEL_LIST_TOGGLE)).first.click(
            timeout=CLICK_TIMEOUT
        )
        await menu.get_by_role(selectors.MODEL_RADIO, name=info.title, exact=True).click(
            timeout=CLICK_TIMEOUT
        )
        expected, title = "custom", info.title
    await _verify(page, expected, title)


async def _slide(page: Page, step: int) -> None:
    slider = page.locator(selectors.any_of(selectors.EFFORT_SLIDER)).filter(visible=True).first
    await slider.focus(timeout=CLICK_TIMEOUT)
    await slider.press("Home")
    for _ in range(step):
        await slider.press("ArrowRight")
    if await slider.get_attribute("aria-valuenow") != str(step):
        raise LookupError(f"the Power slider did not move to step {step + 1}")
    await slider.press("Escape")  # closes the menu, as Enter or a click outside would


async def _verify(page: Page, expected: str, title: str | None) -> None:
    """The trigger's own reading of the choice, read back once the menu is gone."""
    trigger = await control(page, "model_trigger")
    shown = await trigger.get_attribute(selectors.PICKER_EFFORT_ATTRIBUTE)
    label = (await trigger.inner_text()).strip()
    if shown != expected or (title is not None and label != title):
        raise LookupError(f"the picker shows {label!r} ({shown}) instead")


async def _account_model(page: Page, slug: str) -> ModelInfo:
    """The account's entry for `slug`: the list shows titles, not slugs."""
    status, body = await fetch_json(page, selectors.MODELS_PATH, bearer=True)
    for info in models_from_payload(body if status == 200 else None):
        if info.slug == slug:
            return info
    raise LookupError(f"the account's model list has no {slug!r}")


async def _choose_classic(page: Page, slug: str) -> None:
    switcher = await control(page, "model_trigger")
    await switcher.click(timeout=CLICK_TIMEOUT)
    try:
        await page.locator(selectors.any_of(selectors.model_item(slug))).first.click(timeout=5_000)
    except PlaywrightError:
        if page.is_closed():
            raise
        raise LookupError(f"the model menu of this account does not offer {slug!r}") from None
