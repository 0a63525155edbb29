"""Master data: the vehicle model catalogue per brand and the competitor list (HQ keeps them; every form reads them)."""
from __future__ import annotations

from flask.views import MethodView

from shared.auth import current_principal
from shared.permissions import require

from ...handlers import catalogue
from ...schemas import CatalogueQuery, CompetitorIn, CompetitorOut, StarterIn, StarterOut, VehicleModelIn, VehicleModelOut
from . import blp, db


@blp.route("/catalogue")
class Catalogue(MethodView):
    @require("leads.catalogue.read")
    @blp.arguments(CatalogueQuery, location="query")
    @blp.response(200, VehicleModelOut(many=True))
    def get(self, args):
        """The group's model catalogue: one brand's (`brand_id`), a store's brand's (`store_id`), or every brand's."""
        p = current_principal()
        with db().session(p.scope) as s:
            brand_id = args.get("brand_id")
            if args.get("store_id"):
                brand_id = catalogue.brand_of_store(s, args["store_id"]) or "-"
            return catalogue.models_of(s, brand_id, active_only=not args["include_retired"])

    @require("leads.catalogue")
    @blp.arguments(VehicleModelIn)
    @blp.response(201, VehicleModelOut)
    def post(self, body):
        """HQ adds a model to a brand's catalogue (a model of the same name is refreshed); an alias that is
        another model's name is refused."""
        p = current_principal()
        with db().session(p.scope) as s:
            return catalogue.add_model(s, p, body["brand_id"], body)


@blp.route("/catalogue/starter")
class CatalogueStarter(MethodView):
    @require("leads.catalogue")
    @blp.arguments(StarterIn)
    @blp.response(200, StarterOut)
    def post(self, body):
        """HQ fills a brand's catalogue from the starter list of its brand (models already kept stay)."""
        p = current_principal()
        with db().session(p.scope) as s:
            return {"added": catalogue.load_starter(s, p, body.get("brand_id"))}


@blp.route("/competitors")
class Competitors(MethodView):
    @require("leads.catalogue.read")
    @blp.response(200, CompetitorOut(many=True))
    def get(self):
        """The competitor brands and models a defeat may name (empty: the group keeps no list, any name goes)."""
        p = current_principal()
        with db().session(p.scope) as s:
            return catalogue.competitors(s)

    @require("leads.catalogue")
    @blp.arguments(CompetitorIn)
    @blp.response(201, CompetitorOut)
    def post(self, body):
        """HQ adds a competitor's brand (and model) to the list."""
        p = current_principal()
        with db().session(p.scope) as s:
            return catalogue.add_competitor(s, p, body["brand"], body.get("model"))
