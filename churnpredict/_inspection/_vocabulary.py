"""What column and file names mean: the usual spellings of each concept, in several languages.

A name is read two ways: squashed (lower case, letters and digits only, accents and umlauts
folded: ``Kündigungsdatum`` -> ``kuendigungsdatum``) and as tokens (split at separators and
case changes: ``CustomerID`` -> ``customer``, ``id``). A squashed name in a concept's list of
spellings is an exact match; tokens that name the concept (and nothing else) are a weaker
match. Values decide the rest (see ``_columns``).
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "Concept",
    "CONCEPTS",
    "file_tokens",
    "match",
    "squash",
    "tokens",
]

_FOLD = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue"})
_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def _fold(name: str) -> str:
    text = unicodedata.normalize("NFKD", str(name).translate(_FOLD))
    return "".join(c for c in text if not unicodedata.combining(c))


def squash(name: str) -> str:
    """Lower case, letters and digits only, accents folded: ``"Kunden-Nr."`` -> ``"kundennr"``."""
    return re.sub(r"[^0-9a-z]", "", _fold(name).lower())


def tokens(name: str) -> tuple[str, ...]:
    """Words of a name, lower case: ``"InvoiceDate"`` -> ``("invoice", "date")``."""
    return tuple(t.lower() for t in _TOKEN.findall(_fold(name)))


def file_tokens(file_name: str) -> set[str]:
    """Words of a file name without its suffixes, singular: ``"Orders_2024.csv.gz"`` -> orders."""
    stem = str(file_name).split(".")[0]
    out = set()
    for token in tokens(stem):
        out.add(token)
        if token.endswith("s") and len(token) > 3:
            out.add(token[:-1])
    return out


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


class Concept:
    """One meaning a column name can carry, with its spellings.

    Parameters
    ----------
    name : str
        The concept, e.g. ``"customer"``.
    exact : str
        Squashed spellings (space separated) that mean the concept outright.
    heads : str
        Words that name the concept; a name whose tokens include one and otherwise only
        ``allowed`` words matches, more weakly.
    allowed : str
        Words that may stand next to a head word (qualifiers such as ``id``, ``date``).
    """

    def __init__(self, name: str, exact: str, heads: str = "", allowed: str = "") -> None:
        self.name = name
        self.exact = _words(exact)
        self.heads = _words(heads)
        self.allowed = _words(allowed)

    def strength(self, name: str) -> int:
        """2 for a spelling of the concept, 1 for its words, 0 otherwise."""
        if squash(name) in self.exact:
            return 2
        words = tokens(name)
        if not words or not self.heads:
            return 0
        if any(w in self.heads for w in words) and all(
            w in self.heads or w in self.allowed for w in words
        ):
            return 1
        return 0


_ID_WORDS = "id ids no nr num number nummer numero key code ref identifier uuid guid"
_TIME_WORDS = "time timestamp ts date datetime dt at on datum fecha zeit zeitpunkt hora heure"
_ENTITY = (
    "customer customers cust user users client clients member subscriber account acct kunde "
    "kunden cliente clientes klant kund shopper buyer player guest visitor abonnent abonne "
    "usuario utilisateur utente nutzer benutzer"
)
_MONEY = (
    "amount amt total price revenue sales sale spend spent paid charge charges charged gross "
    "net turnover umsatz betrag importe monto montant importo bedrag belopp cost fee fees usd "
    "eur gbp"
)

CONCEPTS: dict[str, Concept] = {
    c.name: c
    for c in [
        Concept(
            "customer",
            "customerid customer custid cust customerno customernumber customernr customerkey "
            "customercode customerref userid user uid clientid client clientnum clientnumber "
            "clientno clientcode accountid account accountnumber accountno acctid memberid "
            "member membernumber subscriberid subscriber kundennummer kundenid kunde kundennr "
            "kdnr kundenkennung idcliente cliente numcliente codcliente clienteid codigocliente "
            "numerocliente idclient numeroclient numclient klantnummer klantid klant klantnr "
            "kundnummer kundnr kund shopperid buyerid householdid contactid personid playerid "
            "guestid idusuario usuarioid idutilisateur",
            _ENTITY,
            _ID_WORDS,
        ),
        # the time an event happened (an event table's own time)
        Concept(
            "event_time",
            "timestamp ts time datetime date eventtime eventts eventdate eventtimestamp "
            "eventdatetime occurredat happenedat loggedat when zeitpunkt zeitstempel datum "
            "fecha fechahora horodatage dateheure tijdstip tijd invoicedate orderdate "
            "purchasedate transactiondate txdate saledate paymentdate paidat paidon chargedat "
            "chargedate billedat billingdate rechnungsdatum bestelldatum kaufdatum zahlungsdatum "
            "fechafactura fechapedido fechapago datefacture datecommande datepaiement visitdate "
            "sessiondate logdate activitydate eventat",
            "time timestamp ts date datetime datum fecha zeitpunkt",
            _TIME_WORDS + " event invoice order purchase transaction txn tx payment paid charge "
            "charged billing billed sale logged occurred activity visit session log rechnungs "
            "bestell kauf zahlungs of",
        ),
        # the row's creation: an event table's time, a customer's signup, a ticket's opening
        Concept(
            "row_time",
            "createdat created createdon creationdate createddate createtime creationtime "
            "erstelltam erstellt fechacreacion datecreation datacreazione aangemaakt",
            "created creation erstellt",
            _TIME_WORDS,
        ),
        Concept(
            "signup",
            "signupat signup signupdate signedup signedupat registered registeredat "
            "registration registrationdate registerdate joined joinedat joindate joiningdate "
            "startdate startedat customersince membersince clientsince since firstseen "
            "anmeldedatum registrierungsdatum eintrittsdatum kundeseit fechaalta fechaderegistro "
            "fecharegistro alta dateinscription inscription dataiscrizione aanmelddatum "
            "onboardedat activationdate activatedat accountcreated",
            "signup signed registration registered register joined join joining since "
            "onboarded activation activated anmeldung registrierung inscription",
            _TIME_WORDS + " up first account customer member client",
        ),
        Concept(
            "churn_time",
            "churnedat churndate churnedon cancelledat canceledat cancellationdate canceldate "
            "cancelledon canceledon cancelationdate terminatedat terminationdate leftat "
            "leavedate exitdate kuendigungsdatum kundigungsdatum gekuendigtam fechabaja "
            "fechacancelacion dateresiliation dataannullamento opzegdatum unsubscribedat "
            "deactivatedat deactivationdate churntime",
            "churn churned cancel cancelled canceled cancellation cancelation terminated "
            "termination unsubscribed deactivated deactivation kuendigung kundigung baja "
            "resiliation opzegging",
            _TIME_WORDS,
        ),
        # an end under a generic name: a customer's account closed, a ticket closed
        Concept(
            "end_time",
            "closedat closed closedate closedon closingdate enddate endedat endat",
            "closed closing ended end",
            _TIME_WORDS,
        ),
        Concept(
            "resolved",
            "resolvedat resolved resolutiondate resolvedon resolvedtime solvedat solved "
            "erledigtam geschlossenam fechacierre fecharesolucion dateresolution",
            "resolved resolution solved erledigt",
            _TIME_WORDS,
        ),
        Concept(
            "label",
            "churn churned churnflag ischurn ischurned churnlabel exited exit attrition "
            "attritionflag attrited hasleft cancelled canceled gekuendigt abgewandert "
            "abwanderung abandono desercion churnstatus left target",
            "churn churned attrition attrited exited",
            "flag label is has status yn",
        ),
        # describes how or why a customer left: known only once they have
        Concept(
            "churn_reason",
            "churnreason cancelreason cancellationreason reasonforleaving exitreason "
            "leavereason churncategory churnscore kuendigungsgrund motivobaja "
            "motivocancelacion raisonresiliation",
            "churn cancel cancellation cancelation exit leaving kuendigung",
            "reason category why score grund motivo raison for",
        ),
        Concept(
            "churn_type",
            "churntype canceltype cancellationtype churnkind",
            "",
        ),
        Concept(
            "event_type",
            "event eventtype eventname type action activity activitytype page pagename "
            "screen screenname kind eventkind ereignis aktion evento tipoevento accion "
            "evenement typeevenement actie interaction interactiontype featurename",
            "",
        ),
        Concept(
            "amount",
            "amount amt total totalprice totalamount revenue sales spend spent payment "
            "paymentamount paidamount amountpaid charge chargeamount invoiceamount invoicetotal "
            "ordertotal ordervalue orderamount gross net netamount grossamount turnover umsatz "
            "betrag rechnungsbetrag summe importe monto montant importo bedrag belopp subtotal "
            "grandtotal lineamount linetotal price",
            _MONEY,
            "order invoice payment line total paid grand sub in gbp eur usd value",
        ),
        Concept(
            "value",
            "value wert valor valeur valore waarde",
            "",
        ),
        Concept(
            "duration",
            "length duration seconds secs sec minutes mins playtime watchtime listentime "
            "timespent sessionlength sessionduration dauer duracion duree durata duur",
            "length duration seconds secs minutes playtime watchtime dauer",
            "session play watch listen song track video time spent in s ms",
        ),
        Concept(
            "count",
            "quantity qty count units items nitems numitems menge anzahl cantidad quantite "
            "quantita aantal",
            "quantity qty count units items menge anzahl",
            "of n num number",
        ),
        Concept(
            "status",
            "status paymentstatus state result chargestatus transactionstatus txnstatus "
            "zahlungsstatus estado estadopago statut stato",
            "status state",
            "payment charge transaction txn",
        ),
        Concept(
            "priority",
            "priority prio severity urgency prioritaet prioritat prioridad priorite priorita",
            "priority severity urgency",
            "ticket case",
        ),
        Concept(
            "csat",
            "csat satisfaction satisfactionscore csatscore rating customerrating "
            "satisfactionrating zufriedenheit satisfaccion bewertung valoracion",
            "csat satisfaction rating",
            "score customer",
        ),
        Concept(
            "plan",
            "plan planname plantype tier pricingplan subscriptionplan subscriptiontype package "
            "tarif tariff tariffplan tarifa forfait abo abonnement membershiptype membership",
            "plan tier tariff tarif",
            "name type pricing subscription",
        ),
        Concept(
            "mrr",
            "mrr monthlyrecurringrevenue monthlyrevenue recurringrevenue monatsbeitrag "
            "cuotamensual mensualite",
            "mrr monthly",
            "recurring revenue charge charges fee price amount spend",
        ),
        # a row's own number: an invoice, an order, a session... never a customer
        Concept(
            "row_id",
            "id rowid row rownumber index invoiceno invoiceid invoicenumber invoice orderid "
            "orderno ordernumber transactionid txnid eventid ticketid caseid sessionid "
            "paymentid chargeid receiptid rechnungsnummer bestellnummer",
            _ID_WORDS,
            "invoice order transaction txn event ticket case session payment charge receipt "
            "row line rechnung bestellung factura pedido facture commande in item",
        ),
        Concept(
            "personal",
            "name firstname lastname surname fullname email mail phone telephone address "
            "street vorname nachname nombre apellido prenom nom",
            "name firstname lastname surname email mail phone address",
            "first last full user customer e",
        ),
    ]
}


def match(name: str) -> dict[str, int]:
    """The concepts a column name carries, with their strength (2 exact, 1 words)."""
    out = {}
    for concept in CONCEPTS.values():
        strength = concept.strength(name)
        if strength:
            out[concept.name] = strength
    return out


#: File-name words that hint at a table (a hint only: the columns decide).
FILE_HINTS: dict[str, frozenset[str]] = {
    "customers": _words(
        "customer user client member account subscriber kunden kunde cliente profile people"
    ),
    "activity": _words(
        "activity event log usage session click pageview visit tracking interaction listening "
        "play stream"
    ),
    "payments": _words("payment billing charge zahlung pago paiement"),
    "purchases": _words(
        "order invoice purchase sale transaction receipt bestellung rechnung pedido factura "
        "commande vente"
    ),
    "tickets": _words("ticket support case issue incident complaint helpdesk request"),
}

#: Payment status values and their canonical status.
STATUS_VALUES: dict[str, str] = {
    **dict.fromkeys(
        "succeeded success successful paid ok completed complete approved settled captured "
        "charged accepted done bezahlt erfolgreich pagado exitoso paye reussi betaald".split(),
        "succeeded",
    ),
    **dict.fromkeys(
        "failed failure fail declined decline error rejected denied bounced unpaid pastdue "
        "insufficientfunds abgelehnt fehlgeschlagen rechazado fallido echoue refuse "
        "mislukt".split(),
        "failed",
    ),
    **dict.fromkeys(
        "refunded refund reversed chargeback chargedback erstattet reembolsado rembourse "
        "terugbetaald".split(),
        "refunded",
    ),
}

#: Words in an event type that record a cancellation.
CANCEL_WORDS = _words(
    "cancel cancelled canceled cancellation cancelation churn churned unsubscribe "
    "unsubscribed terminate terminated termination deactivate deactivated kuendigung "
    "gekuendigt baja resiliation opzegging"
)
#: Words that make one of several cancellation events the final one.
CONFIRM_WORDS = _words("confirmation confirmed confirm completed complete done success final")

#: Label values: which one means churned.
POSITIVE_LABELS = _words(
    "1 true yes y churn churned left exited attrited attritedcustomer cancelled canceled ja si oui"
)
NEGATIVE_LABELS = _words(
    "0 false no n stayed retained active existing existingcustomer current nein non"
)
