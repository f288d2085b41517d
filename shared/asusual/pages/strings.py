"""Every word the pages say, per locale, in one place: page texts, and the human names of
channels, topics and the reasons a message was sent the way it was. A test keeps the locales'
keys identical. Values are plain text (the templates escape them); ``{name}`` fields are filled
with :meth:`str.format` before escaping."""

from __future__ import annotations

from collections.abc import Mapping

LOCALES = ("ru", "en")
# the default_country whose customers read Russian when nothing else tells (settings.default_locale)
RUSSIAN_COUNTRIES = frozenset({"RU", "BY", "KZ", "KG"})

TEXT: Mapping[str, Mapping[str, str]] = {
    "ru": {
        "personal": "Это личная ссылка из вашего сообщения: не пересылайте её.",
        "preferences_link": "Выбрать, какие сообщения получать",
        # the why page
        "why_title": "Почему вы получили это сообщение",
        "message_heading": "Сообщение",
        "subject": "Тема: «{subject}»",
        "sent": "Отправлено {how} {when}.",
        "when": "{date} в {time} (время UTC{offset})",
        "why_heading": "Почему",
        "marketing_kind": "Это рекламное сообщение: новости и предложения.",
        "transactional_kind": "Это сообщение о вашем заказе или обслуживании.",
        "confirmation_kind": "Это просьба подтвердить подписку: пока вы её не подтвердите, мы не пришлём "
        "вам рекламы.",
        "basis_heading": "На каком основании",
        "opt_in": "Вы согласились получать {label}.",
        "opt_in_at": "{date} вы согласились получать {label}.",
        "confirmed_opt_in_at": "{date} вы подтвердили, что хотите получать {label}.",
        "consent_version": "Версия текста согласия: {version}.",
        "no_opt_out": "Сообщения о заказах не требуют согласия на рекламу: мы отправляем их, "
        "чтобы вы знали, что происходит с вашим заказом.",
        "confirmation_basis": "Такую просьбу мы присылаем не чаще раза в день на адрес или номер, "
        "указанный при подписке на нашем сайте. Если вы не подписывались, ничего делать не нужно.",
        "timing_heading": "Когда и как часто",
        "quiet_hours": "Рекламу мы присылаем только с {start} до {end} по вашему времени.",
        "held_quiet": "Мы отложили это сообщение, чтобы не беспокоить вас ночью.",
        "held_cap": "Мы отложили это сообщение, чтобы не присылать слишком много: рекламных сообщений "
        "не больше {daily} в день и {weekly} в неделю.",
        "channel_heading": "Почему {how}",
        "reason_preferred_channel": "Вы указали этот способ связи как предпочтительный.",
        "reason_order_channel": "Так мы сообщаем о заказах, оформленных там, где вы оформили свой.",
        "reason_most_engaged": "Этим способом связи вы пользуетесь чаще других.",
        "reason_first_available": "Этим способом с вами можно связаться.",
        "reason_requested_address": "Подтвердить подписку может только тот, кто получает сообщения по "
        "этому адресу или номеру.",
        # the preference center
        "preferences_title": "Какие сообщения вы получаете",
        "preferences_intro": "Отметьте, что вы хотите получать, и нажмите «Сохранить».",
        "marketing_legend": "Новости и предложения",
        "save": "Сохранить",
        "all_off": "Отписаться от всех новостей и предложений",
        # confirmed opt-in (the link of a consent_confirmation message)
        "confirm_title": "Подтвердите подписку",
        "confirm_ask_email": "Подтвердите, что хотите получать наши новости и предложения на этот адрес.",
        "confirm_ask_sms": "Подтвердите, что хотите получать наши новости и предложения по SMS "
        "на этот номер.",
        "confirm_button": "Подтвердить подписку",
        "confirmed_title": "Подписка подтверждена",
        "confirmed_text": "Спасибо! Отписаться можно в любой момент по ссылке в каждом сообщении.",
        "transactional_heading": "Сообщения о заказах",
        "transactional_note": "Их нельзя отключить здесь: без них вы не узнаете, что происходит "
        "с вашим заказом.",
        "state_on": "отправляются",
        "state_off": "не отправляются",
        "saved": "Готово: ваш выбор сохранён.",
        "unchanged": "Ваш выбор сохранён, ничего не изменилось.",
        "old_link": "Ссылка устарела: здесь можно только отписаться. Чтобы снова подписаться, "
        "откройте ссылку из более нового сообщения.",
        # unsubscribe and undo
        "unsubscribe_title": "Отписаться?",
        "unsubscribe_text": "Вы больше не будете получать {label}.",
        "unsubscribe_button": "Отписаться",
        "unsubscribed_title": "Вы отписались",
        "still_transactional": "Сообщения о ваших заказах будут приходить, как раньше.",
        "undo_heading": "Передумали?",
        "undo_button": "Подписаться снова",
        "resubscribed_title": "Вы снова подписаны",
        "resubscribed_text": "Вы снова будете получать {label}.",
        # refusals
        "invalid_title": "Ссылка не работает",
        "invalid_text": "Проверьте, что ссылка скопирована целиком, или откройте её из сообщения ещё раз.",
        "expired_title": "Ссылка устарела",
        "expired_text": "Ссылки в сообщениях действуют ограниченное время. Откройте ссылку из более "
        "нового сообщения. Ссылка «Отписаться» работает всегда.",
        "undo_expired_text": "Отменить отписку уже нельзя. Подписаться снова можно по ссылке "
        "«Настроить рассылки» из более нового сообщения.",
        "bad_form_title": "Форму не удалось прочитать",
        "bad_form_text": "Поле «{field}»: {problem}",
        "problem_required": "обязательно.",
        "problem_value": "такого значения нет в этой форме.",
        "problem_unknown": "такого поля нет в этой форме.",
        "problem_fixed": "его нельзя изменить здесь.",
        "problem_form": "это не данные формы.",
    },
    "en": {
        "personal": "This is a personal link from your message: please do not forward it.",
        "preferences_link": "Choose which messages you receive",
        "why_title": "Why you received this message",
        "message_heading": "The message",
        "subject": "Subject: “{subject}”",
        "sent": "Sent {how} on {when}.",
        "when": "{date} at {time} (UTC{offset})",
        "why_heading": "Why",
        "marketing_kind": "This is a marketing message: news and offers.",
        "transactional_kind": "This message is about your order or our service to you.",
        "confirmation_kind": "This message asks you to confirm a subscription: until you confirm it, we "
        "send you no marketing.",
        "basis_heading": "On what basis",
        "opt_in": "You agreed to receive {label}.",
        "opt_in_at": "On {date} you agreed to receive {label}.",
        "confirmed_opt_in_at": "On {date} you confirmed that you want to receive {label}.",
        "consent_version": "Consent wording version: {version}.",
        "no_opt_out": "Messages about your orders need no consent to marketing: we send them so that "
        "you know what is happening with your order.",
        "confirmation_basis": "We send such a request at most once a day to the address or number given "
        "when subscribing on our site. If you did not subscribe, there is nothing to do.",
        "timing_heading": "When and how often",
        "quiet_hours": "We send marketing only between {start} and {end} your time.",
        "held_quiet": "We held this message back so as not to disturb you at night.",
        "held_cap": "We held this message back so as not to send you too many: at most {daily} "
        "marketing messages a day and {weekly} a week.",
        "channel_heading": "Why {how}",
        "reason_preferred_channel": "You told us this is how you prefer to hear from us.",
        "reason_order_channel": "This is how we tell you about orders placed where you placed yours.",
        "reason_most_engaged": "This is the way of reaching you that you use most.",
        "reason_first_available": "This is how we can reach you.",
        "reason_requested_address": "Only whoever receives messages at this address or number can "
        "confirm the subscription.",
        "preferences_title": "Which messages you receive",
        "preferences_intro": "Tick what you want to receive and press “Save”.",
        "marketing_legend": "News and offers",
        "save": "Save",
        "all_off": "Unsubscribe from all news and offers",
        # confirmed opt-in (the link of a consent_confirmation message)
        "confirm_title": "Confirm your subscription",
        "confirm_ask_email": "Please confirm that you want to receive our news and offers at this address.",
        "confirm_ask_sms": "Please confirm that you want to receive our news and offers by text "
        "at this number.",
        "confirm_button": "Confirm my subscription",
        "confirmed_title": "Subscription confirmed",
        "confirmed_text": "Thank you! You can unsubscribe at any time with the link in every message.",
        "transactional_heading": "Messages about your orders",
        "transactional_note": "They cannot be switched off here: without them you would not know "
        "what is happening with your order.",
        "state_on": "sent",
        "state_off": "not sent",
        "saved": "Done: your choices are saved.",
        "unchanged": "Your choices are saved; nothing changed.",
        "old_link": "This link is old: you can only unsubscribe here. To subscribe again, open the "
        "link in a more recent message.",
        "unsubscribe_title": "Unsubscribe?",
        "unsubscribe_text": "You will no longer receive {label}.",
        "unsubscribe_button": "Unsubscribe",
        "unsubscribed_title": "You are unsubscribed",
        "still_transactional": "Messages about your orders will still come as before.",
        "undo_heading": "Changed your mind?",
        "undo_button": "Subscribe again",
        "resubscribed_title": "You are subscribed again",
        "resubscribed_text": "You will receive {label} again.",
        "invalid_title": "This link does not work",
        "invalid_text": "Check that the whole link was copied, or open it from the message again.",
        "expired_title": "This link has expired",
        "expired_text": "Links in our messages work for a limited time. Open the link in a more recent "
        "message. The “Unsubscribe” link always works.",
        "undo_expired_text": "It is too late to undo this. To subscribe again, use the “Choose what you "
        "receive” link in a more recent message.",
        "bad_form_title": "The form could not be read",
        "bad_form_text": "Field “{field}”: {problem}",
        "problem_required": "required.",
        "problem_value": "this form has no such value.",
        "problem_unknown": "this form has no such field.",
        "problem_fixed": "it cannot be changed here.",
        "problem_form": "this is not form data.",
    },
}

# how a message went out, as the end of "Sent ..." (ru: "Отправлено ...")
CHANNEL_HOW: Mapping[str, Mapping[str, str]] = {
    "ru": {
        "email": "по электронной почте",
        "sms": "в SMS",
        "push": "push-уведомлением в приложении",
        "store": "через сотрудников магазина",
        "call_center": "через колл-центр",
    },
    "en": {
        "email": "by email",
        "sms": "by text message (SMS)",
        "push": "as a push notification in the app",
        "store": "through our store staff",
        "call_center": "through our call centre",
    },
}

# what a consent covers, as the object of "receive ..." ("получать ..."): channel.topic
LABELS: Mapping[str, Mapping[str, str]] = {
    "ru": {
        "email.marketing": "маркетинговые письма по email",
        "sms.marketing": "рекламные SMS",
        "push.marketing": "рекламные push-уведомления в приложении",
        "store.marketing": "персональные предложения в магазине",
        "call_center.marketing": "предложения по телефону от колл-центра",
        "email.transactional": "письма о заказах",
        "sms.transactional": "SMS о заказах",
        "push.transactional": "push-уведомления о заказах",
        "store.transactional": "сообщения о заказах в магазине",
        "call_center.transactional": "звонки колл-центра о заказах",
    },
    "en": {
        "email.marketing": "marketing emails",
        "sms.marketing": "marketing text messages (SMS)",
        "push.marketing": "marketing push notifications in the app",
        "store.marketing": "personal offers in our stores",
        "call_center.marketing": "offers by phone from our call centre",
        "email.transactional": "emails about your orders",
        "sms.transactional": "text messages (SMS) about your orders",
        "push.transactional": "push notifications about your orders",
        "store.transactional": "messages about your orders in our stores",
        "call_center.transactional": "calls from our call centre about your orders",
    },
}
# a channel or topic this table does not know yet (a newer version's) still gets words
FALLBACK_LABEL = {"ru": "сообщения от нас", "en": "messages from us"}
FALLBACK_HOW = {"ru": "по одному из наших каналов", "en": "through one of our channels"}


def text(locale: str, key: str, **fields: object) -> str:
    """The locale's text for ``key`` with ``fields`` filled in."""
    template = TEXT[locale][key]
    return template.format(**fields) if fields else template


def label(locale: str, channel: str, topic: str) -> str:
    """What a consent on ``channel`` for ``topic`` covers, in words: "marketing emails"."""
    return LABELS[locale].get(f"{channel}.{topic}", FALLBACK_LABEL[locale])


def how(locale: str, channel: str) -> str:
    """How a message on ``channel`` went out, in words: "by email"."""
    return CHANNEL_HOW[locale].get(channel, FALLBACK_HOW[locale])


def sentence_case(words: str) -> str:
    return words[:1].upper() + words[1:]
