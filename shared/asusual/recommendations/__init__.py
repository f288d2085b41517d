"""Recommendations: item-to-item co-occurrence learned from baskets, blended with the customer's own
repeat purchases and the products' popularity (docs/recommendations.md). Pure rules: no AWS."""
