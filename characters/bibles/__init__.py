"""Characters and their bibles: a character is the account's persona; its bible is the versioned persona document
(card data, lore, canon posts) that every save adds a version of; a card is the interchange file (Character Card V2/V3
JSON, PNG, CHARX) a bible is imported from and exported to."""
