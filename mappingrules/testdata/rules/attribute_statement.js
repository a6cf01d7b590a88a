importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

var stmt = new AttributeStatement();
stmt.addAttribute(new Attribute("urn:oid:0.9.2342.19200300.100.1.3", "urn:oasis:names:tc:SAML:2.0:attrname-format:basic", "alice@example.com"));
stsuu.addAttributeStatement(stmt);
stsuu.addAttribute(new Attribute("statements", "urn:ibm:jwt:claim", stsuu.getAttributeStatements().length));
