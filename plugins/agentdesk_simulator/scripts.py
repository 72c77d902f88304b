# ruff: noqa: E501  (customer lines read better unbroken)
"""What simulated customers say, in English and French.

Each matter has a first message and a follow-up in both languages; the
channel dresses them for its kind (an email gets a greeting and a signature,
an SMS stays short, a call becomes a call summary).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Lines:
    #: What follows "about" ("the blue sofa delivery") or "au sujet" ("de la livraison...").
    title: str
    subject: str
    first: str
    follow: str


@dataclass(frozen=True, slots=True)
class Matter:
    key: str
    en: Lines
    fr: Lines

    def lines(self, language: str) -> Lines:
        return self.fr if language == "fr" else self.en


MATTERS: tuple[Matter, ...] = (
    Matter(
        "sofa",
        Lines(
            "the blue sofa delivery",
            "Blue sofa delivery (order 5120)",
            "My blue sofa (order 5120) was due on Tuesday and nobody came. Can you tell me when it will be delivered?",
            "Still no sofa. The tracking page has said 'out for delivery' for three days.",
        ),
        Lines(
            "de la livraison du canapé bleu",
            "Livraison du canapé bleu (commande 5120)",
            "Mon canapé bleu (commande 5120) devait être livré mardi et personne n'est venu. Quand sera-t-il livré ?",
            "Toujours pas de canapé. Le suivi indique « en cours de livraison » depuis trois jours.",
        ),
    ),
    Matter(
        "refund",
        Lines(
            "the refund for order 4471",
            "Refund for order 4471",
            "I returned order 4471 two weeks ago and I have not been refunded yet. Could you check?",
            "The refund for order 4471 is still not on my account.",
        ),
        Lines(
            "du remboursement de la commande 4471",
            "Remboursement de la commande 4471",
            "J'ai renvoyé la commande 4471 il y a deux semaines et je n'ai toujours pas été remboursée. Pouvez-vous vérifier ?",
            "Le remboursement de la commande 4471 n'apparaît toujours pas sur mon compte.",
        ),
    ),
    Matter(
        "shoes",
        Lines(
            "the shoe exchange",
            "Exchange: trail shoes, wrong size",
            "The trail shoes I received are a 42 but I ordered a 43. How do I exchange them?",
            "I posted the shoes back yesterday; when will the 43s ship?",
        ),
        Lines(
            "de l'échange des chaussures",
            "Échange : chaussures de trail, mauvaise pointure",
            "J'ai reçu des chaussures de trail en 42 alors que j'avais commandé du 43. Comment les échanger ?",
            "J'ai renvoyé les chaussures hier ; quand la pointure 43 sera-t-elle expédiée ?",
        ),
    ),
    Matter(
        "password",
        Lines(
            "my password reset",
            "Cannot reset my password",
            "The password reset email never arrives. I have checked my spam folder.",
            "I tried again this morning and still no reset email.",
        ),
        Lines(
            "de la réinitialisation de mon mot de passe",
            "Impossible de réinitialiser mon mot de passe",
            "Je ne reçois jamais l'e-mail de réinitialisation du mot de passe. J'ai vérifié les indésirables.",
            "J'ai réessayé ce matin, toujours pas d'e-mail de réinitialisation.",
        ),
    ),
    Matter(
        "parcel",
        Lines(
            "the damaged parcel",
            "Damaged parcel, order 6012",
            "Order 6012 arrived with the box crushed and two of the glasses broken. Photos attached.",
            "Have you decided whether you will replace the broken glasses?",
        ),
        Lines(
            "du colis endommagé",
            "Colis endommagé, commande 6012",
            "La commande 6012 est arrivée avec le carton écrasé et deux verres cassés. Photos en pièce jointe.",
            "Avez-vous décidé si vous remplacez les verres cassés ?",
        ),
    ),
    Matter(
        "invoice",
        Lines(
            "the invoice address",
            "Wrong address on my invoice",
            "My invoice shows my old address. I need it corrected for my expense claim.",
            "I still need the corrected invoice before Friday.",
        ),
        Lines(
            "de l'adresse de facturation",
            "Mauvaise adresse sur ma facture",
            "Ma facture indique mon ancienne adresse. J'ai besoin qu'elle soit corrigée pour ma note de frais.",
            "J'ai toujours besoin de la facture corrigée avant vendredi.",
        ),
    ),
    Matter(
        "subscription",
        Lines(
            "cancelling my subscription",
            "Please cancel my subscription",
            "I would like to cancel my subscription at the end of this month.",
            "I was charged again even though I asked to cancel.",
        ),
        Lines(
            "de la résiliation de mon abonnement",
            "Résiliation de mon abonnement",
            "Je souhaite résilier mon abonnement à la fin du mois.",
            "J'ai encore été prélevé alors que j'ai demandé la résiliation.",
        ),
    ),
    Matter(
        "missing",
        Lines(
            "the missing item in order 2987",
            "Item missing from order 2987",
            "Order 2987 arrived without the lamp shade. Everything else was there.",
            "Any news about the missing lamp shade?",
        ),
        Lines(
            "de l'article manquant de la commande 2987",
            "Article manquant dans la commande 2987",
            "La commande 2987 est arrivée sans l'abat-jour. Tout le reste y était.",
            "Des nouvelles de l'abat-jour manquant ?",
        ),
    ),
    Matter(
        "coffee",
        Lines(
            "the coffee machine repair",
            "Coffee machine under warranty leaks",
            "My coffee machine, bought eight months ago, leaks from the bottom. It is under warranty.",
            "Where should I send the coffee machine for the repair?",
        ),
        Lines(
            "de la réparation de la machine à café",
            "Machine à café sous garantie qui fuit",
            "Ma machine à café, achetée il y a huit mois, fuit par-dessous. Elle est sous garantie.",
            "Où dois-je envoyer la machine à café pour la réparation ?",
        ),
    ),
    Matter(
        "slot",
        Lines(
            "the delivery slot",
            "Change my delivery slot",
            "Can I move my delivery from Thursday morning to Saturday?",
            "Is Saturday confirmed for the delivery?",
        ),
        Lines(
            "du créneau de livraison",
            "Changer mon créneau de livraison",
            "Puis-je déplacer ma livraison de jeudi matin à samedi ?",
            "Le samedi est-il confirmé pour la livraison ?",
        ),
    ),
)

KIND_WORDS = {
    "en": {"email": "email", "chat": "chat", "sms": "text", "social": "DM", "phone": "phone"},
    "fr": {
        "email": "e-mail",
        "chat": "chat",
        "sms": "SMS",
        "social": "message privé",
        "phone": "téléphone",
    },
}
EARLIER = {
    "en": "I already contacted you by {kind} about {title}. ",
    "fr": "Je vous ai déjà contactés par {kind} au sujet {title}. ",
}
GREETING = {"en": "Hello,", "fr": "Bonjour,"}
SIGN_OFF = {"en": "Best regards,", "fr": "Cordialement,"}
CALL_SUMMARY = {
    "en": "Called about {title}. {text}",
    "fr": "A appelé au sujet {title}. {text}",
}
MISSED_CALL = {"en": "Missed call, no voicemail.", "fr": "Appel manqué, pas de message."}
VOICEMAIL = {
    "en": "Voicemail: please call me back about {title}.",
    "fr": "Message vocal : merci de me rappeler au sujet {title}.",
}

# How customers answer an agent's reply.
ANSWERS = {
    "en": (
        "Thanks, that helps.",
        "OK. When will I hear back?",
        "Great, thank you!",
        "That does not solve it, I'm afraid.",
        "Could you confirm by email as well?",
    ),
    "fr": (
        "Merci, c'est parfait.",
        "D'accord. Quand aurai-je une réponse ?",
        "Super, merci beaucoup !",
        "Cela ne règle pas mon problème, malheureusement.",
        "Pouvez-vous me le confirmer par e-mail aussi ?",
    ),
}
SURVEY_COMMENTS = {
    "en": ("", "Quick and friendly.", "Took a while but sorted.", "I had to repeat myself."),
    "fr": ("", "Rapide et aimable.", "Un peu long mais réglé.", "J'ai dû me répéter."),
}
