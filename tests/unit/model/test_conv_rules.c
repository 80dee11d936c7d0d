/* test_conv_rules.c: what a message and an agent's change do to a conversation
 * (model/conversation.c: conv_on_message, conv_patch_apply): the domain rules the conversation
 * service applies, in C. */
#include "base/sys.h"
#include "model/conversation.h"

#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

static struct conv_now conv(const char *status, const char *priority, const char *bot)
{
    struct conv_now c;
    memset(&c, 0, sizeof(c));
    snprintf(c.status, sizeof(c.status), "%s", status);
    snprintf(c.priority, sizeof(c.priority), "%s", priority);
    snprintf(c.bot_state, sizeof(c.bot_state), "%s", bot);
    c.last_activity_at = 100;
    c.sentiment = NAN;
    return c;
}

static struct msg_facts from_contact(int64_t id, int64_t at, double senti)
{
    return (struct msg_facts){.from = MSG_FROM_CONTACT, .id = id, .sentiment = senti, .at = at};
}

static struct msg_facts from_agent(int64_t id, int64_t at, int64_t user, bool private)
{
    return (struct msg_facts){.from = MSG_FROM_AGENT,
                              .id = id,
                              .user_id = user,
                              .private = private,
                              .at = at,
                              .sentiment = NAN};
}

static void test_customer_reopens_and_waits(void **state)
{
    (void)state;
    struct conv_now c = conv("snoozed", "none", "");
    c.snoozed_until = 5000;
    struct msg_facts m = from_contact(7, 1000, 0.1);
    assert_int_equal(conv_on_message(&c, &m), CONV_MSG_REOPENED);
    assert_string_equal(c.status, "open");
    assert_int_equal(c.snoozed_until, 0);
    assert_int_equal(c.waiting_since, 1000);
    assert_int_equal(c.unread_count, 1);
    assert_int_equal(c.last_message_id, 7);
    assert_int_equal(c.contact_last_read_id, 7);
    assert_int_equal(c.last_activity_at, 1000);
    /* a second message: still waiting since the first, two unread, nothing reopened */
    m = from_contact(8, 2000, 0.1);
    assert_int_equal(conv_on_message(&c, &m), 0);
    assert_int_equal(c.waiting_since, 1000);
    assert_int_equal(c.unread_count, 2);
    /* pending (waiting on the customer) reopens too */
    c = conv("pending", "none", "");
    assert_int_equal(conv_on_message(&c, &m), CONV_MSG_REOPENED);
}

static void test_bot_keeps_it_pending(void **state)
{
    (void)state;
    struct conv_now c = conv("pending", "none", "active");
    struct msg_facts m = from_contact(3, 1000, 0.0);
    assert_int_equal(conv_on_message(&c, &m), 0);
    assert_string_equal(c.status, "pending"); /* out of the queue while the bot answers */
    assert_int_equal(c.waiting_since, 0);     /* nobody waits for a person yet */
    assert_int_equal(c.unread_count, 1);
    assert_true(conv_bot_answering(&c));
    /* an agent's public reply takes over from the bot */
    m = from_agent(4, 2000, 42, false);
    unsigned w = conv_on_message(&c, &m);
    assert_true(w & CONV_MSG_HANDED_OFF);
    assert_string_equal(c.bot_state, "handed_off");
    assert_false(conv_bot_answering(&c));
    /* a note does not */
    c = conv("pending", "none", "collecting");
    m = from_agent(5, 2000, 42, true);
    assert_int_equal(conv_on_message(&c, &m) & CONV_MSG_HANDED_OFF, 0);
    assert_string_equal(c.bot_state, "collecting");
}

static void test_negative_turn_raises_where_the_inbox_says(void **state)
{
    (void)state;
    struct conv_now c = conv("open", "low", "");
    struct msg_facts m = from_contact(1, 1000, -0.6);
    assert_true(conv_may_raise(&c, -0.6));
    assert_int_equal(conv_on_message(&c, &m) & CONV_MSG_RAISED, 0); /* the inbox does not want it */
    assert_string_equal(c.priority, "low");
    assert_true(c.sentiment == -0.6);
    m.raise_on_negative = true;
    assert_true(conv_on_message(&c, &m) & CONV_MSG_RAISED);
    assert_string_equal(c.priority, "high");
    /* already high or urgent: nothing to raise; mildly negative: no */
    c = conv("open", "urgent", "");
    assert_false(conv_may_raise(&c, -0.9));
    assert_int_equal(conv_on_message(&c, &m) & CONV_MSG_RAISED, 0);
    assert_string_equal(c.priority, "urgent");
    c = conv("open", "none", "");
    assert_false(conv_may_raise(&c, -0.2));
    assert_false(conv_may_raise(&c, NAN));
}

static void test_agent_reply(void **state)
{
    (void)state;
    struct conv_now c = conv("open", "none", "");
    c.waiting_since = 500;
    c.unread_count = 3;
    struct msg_facts m = from_agent(9, 1000, 42, false);
    unsigned w = conv_on_message(&c, &m);
    assert_int_equal(w, CONV_MSG_ASSIGNED); /* the first to answer an unassigned one takes it */
    assert_int_equal(c.assignee_id, 42);
    assert_int_equal(c.assigned_at, 1000);
    assert_int_equal(c.waiting_since, 0);
    assert_int_equal(c.first_reply_at, 1000);
    assert_int_equal(c.unread_count, 0);
    assert_int_equal(c.agent_last_read_id, 9);
    /* another agent's later reply: the first reply and the assignee stay */
    m = from_agent(10, 2000, 43, false);
    assert_int_equal(conv_on_message(&c, &m), 0);
    assert_int_equal(c.assignee_id, 42);
    assert_int_equal(c.first_reply_at, 1000);
    /* a private note reads but changes nothing the customer would see */
    c = conv("open", "none", "");
    c.waiting_since = 500;
    c.unread_count = 2;
    m = from_agent(11, 3000, 44, true);
    assert_int_equal(conv_on_message(&c, &m), 0);
    assert_int_equal(c.assignee_id, 0);
    assert_int_equal(c.waiting_since, 500);
    assert_int_equal(c.unread_count, 0);
    assert_int_equal(c.last_activity_at, 100); /* a note is not activity */
    assert_int_equal(c.last_message_id, 11);
}

static void test_bot_message(void **state)
{
    (void)state;
    struct conv_now c = conv("pending", "none", "active");
    c.unread_count = 1;
    struct msg_facts m = {.from = MSG_FROM_BOT, .id = 12, .at = 4000, .sentiment = NAN};
    assert_int_equal(conv_on_message(&c, &m), 0);
    assert_int_equal(c.unread_count, 1);
    assert_int_equal(c.last_message_id, 12);
    assert_int_equal(c.last_activity_at, 4000);
    assert_string_equal(c.bot_state, "active");
}

static void test_patch(void **state)
{
    (void)state;
    struct conv_facts was = {.status = "snoozed",
                             .priority = "low",
                             .assignee_id = 4,
                             .team_id = 0,
                             .snoozed_until = 9000};
    struct conv_facts now;
    struct conv_patch p = {.status = -1, .priority = PRIO_HIGH};
    assert_int_equal(conv_patch_apply(&was, &p, &now), CONV_CHANGED_PRIORITY);
    assert_string_equal(now.status, "snoozed");
    assert_int_equal(now.snoozed_until, 9000); /* a priority change keeps the wake-up time */
    p = (struct conv_patch){.status = CONV_OPEN, .priority = -1};
    assert_int_equal(conv_patch_apply(&was, &p, &now), CONV_CHANGED_STATUS);
    assert_int_equal(now.snoozed_until, 0);
    p = (struct conv_patch){.status = CONV_SNOOZED, .priority = -1, .snoozed_until = 12000};
    assert_int_equal(conv_patch_apply(&was, &p, &now), CONV_CHANGED_STATUS); /* a new time */
    assert_int_equal(now.snoozed_until, 12000);
    p = (struct conv_patch){.status = -1,
                            .priority = -1,
                            .set_assignee = true,
                            .assignee_id = 0,
                            .set_team = true,
                            .team_id = 3};
    assert_int_equal(conv_patch_apply(&was, &p, &now), CONV_CHANGED_ASSIGNEE | CONV_CHANGED_TEAM);
    assert_int_equal(now.assignee_id, 0);
    p = (struct conv_patch){
        .status = -1, .priority = PRIO_LOW, .set_assignee = true, .assignee_id = 4};
    assert_int_equal(conv_patch_apply(&was, &p, &now), 0); /* nothing changes: nothing to write */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_customer_reopens_and_waits),
        cmocka_unit_test(test_bot_keeps_it_pending),
        cmocka_unit_test(test_negative_turn_raises_where_the_inbox_says),
        cmocka_unit_test(test_agent_reply),
        cmocka_unit_test(test_bot_message),
        cmocka_unit_test(test_patch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
