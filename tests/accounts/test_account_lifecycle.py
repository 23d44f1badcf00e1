"""An account's lifecycle from its facts (`history_from_facts`), every move and reason
written out by hand: the words the account page and `mql accounts` show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from mql.accounts.lifecycle import AccountHistory, Move, history_from_facts

T = datetime(2026, 3, 2, tzinfo=UTC)
DAY = timedelta(days=1)


def test_the_history_moves_through_every_fact_with_its_reason() -> None:
    h = history_from_facts(
        "acme.example", T + 40 * DAY, first_touch=T, engaged=False,
        mqas=[(T + 5 * DAY, "account score 72 (line 60)")],
        opportunities=[(T + 10 * DAY, T + 20 * DAY, "lost"), (T + 30 * DAY, None, "open")])
    assert h == AccountHistory("acme.example", (
        Move("aware", T, "first touch"),
        Move("mqa", T + 5 * DAY, "account score 72 (line 60)"),
        Move("opportunity", T + 10 * DAY, "opportunity created"),
        Move("engaged", T + 20 * DAY, "opportunity lost"),
        Move("opportunity", T + 30 * DAY, "opportunity created"),
    ))


def test_facts_at_one_moment_move_in_stage_order() -> None:
    # a first touch, an MQA, an opportunity opened and won, all at the same moment
    h = history_from_facts("acme.example", T, first_touch=T, engaged=False,
                           mqas=[(T, "fast track demo")], opportunities=[(T, T, "won")])
    assert [(m.stage, m.reason) for m in h.moves] == [
        ("aware", "first touch"), ("mqa", "fast track demo"),
        ("opportunity", "opportunity created"), ("customer", "opportunity won")]


def test_a_lost_opportunity_of_an_account_not_in_opportunity_is_no_move_back() -> None:
    # an opportunity recorded as opened after `at` but lost before it: the loss is read,
    # but the account was never in opportunity by then, so it stays an MQA
    h = history_from_facts("acme.example", T + 10 * DAY, first_touch=T, engaged=False,
                           mqas=[(T + DAY, "score")],
                           opportunities=[(T + 20 * DAY, T + 5 * DAY, "lost")])
    assert h.stage == "mqa"
    assert [m.reason for m in h.moves] == ["first touch", "score"]


def test_what_holds_now_is_a_move_at_the_moment_asked() -> None:
    h = history_from_facts("acme.example", T + 3 * DAY, first_touch=T, engaged=True,
                           mqas=[], opportunities=[], mqa_now="account score 65 (line 60)")
    assert h.moves == (Move("aware", T, "first touch"),
                       Move("engaged", T + 3 * DAY, "engaged contacts now"),
                       Move("mqa", T + 3 * DAY, "account score 65 (line 60)"))
    # a first touch after the moment asked is not read
    assert history_from_facts("acme.example", T - DAY, first_touch=T, engaged=False,
                              mqas=[], opportunities=[]).moves == ()


def test_stored_moves_are_read_up_to_the_moment_asked_and_unknown_stages_are_not() -> None:
    stored = [(T, "aware", "stored touch"), (T + DAY, "engaged", "2 engaged"),
              (T + 2 * DAY, "mqa", "score 70"), (T + 3 * DAY, "opportunity", "crm deal"),
              (T + 4 * DAY, "customer", "crm won"), (T + 5 * DAY, "churned", "not a stage"),
              (T + 50 * DAY, "engaged", "after the moment asked")]
    h = history_from_facts("acme.example", T + 10 * DAY, first_touch=None, engaged=False,
                           mqas=[], opportunities=[], moves=stored)
    assert h.moves == (Move("aware", T, "stored touch"), Move("engaged", T + DAY, "2 engaged"),
                       Move("mqa", T + 2 * DAY, "score 70"),
                       Move("opportunity", T + 3 * DAY, "crm deal"),
                       Move("customer", T + 4 * DAY, "crm won"))
    # a move stored at the very moment asked is read
    assert history_from_facts("acme.example", T, first_touch=None, engaged=False, mqas=[],
                              opportunities=[], moves=[(T, "aware", "seen")]).moves == (
        Move("aware", T, "seen"),)


def test_stored_moves_at_one_moment_move_in_stage_order() -> None:
    stored = [(T, "customer", "won"), (T, "opportunity", "deal"), (T, "mqa", "score"),
              (T, "engaged", "two engaged"), (T, "aware", "touch")]
    h = history_from_facts("acme.example", T, first_touch=None, engaged=False, mqas=[],
                           opportunities=[], moves=stored)
    assert [m.stage for m in h.moves] == ["aware", "engaged", "mqa", "opportunity",
                                          "customer"]


def test_an_engaged_move_stored_during_an_open_opportunity_is_no_move_back() -> None:
    # only a lost opportunity takes an account in opportunity back to engaged
    h = history_from_facts("acme.example", T + 5 * DAY, first_touch=T, engaged=False,
                           mqas=[], opportunities=[(T + DAY, None, "open")],
                           moves=[(T + 2 * DAY, "engaged", "engaged again")])
    assert [(m.stage, m.at) for m in h.moves] == [("aware", T), ("opportunity", T + DAY)]


def test_a_stored_customer_move_and_a_loss_at_one_moment_keep_the_stage_order() -> None:
    # in stage order the customer move comes first; the loss then takes no one back
    h = history_from_facts("acme.example", T + 2 * DAY, first_touch=None, engaged=False,
                           mqas=[], opportunities=[(T, T + DAY, "lost")],
                           moves=[(T + DAY, "customer", "signed elsewhere in the CRM")])
    assert [(m.stage, m.at) for m in h.moves] == [("opportunity", T),
                                                  ("customer", T + DAY)]
