importClass(Packages.com.tivoli.am.fim.trustserver.sts.utilities.IDMappingExtUtils);
importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

var el = IDMappingExtUtils.stringToXMLElement('<wst:Claims xmlns:wst="http://docs.oasis-open.org/ws-sx/ws-trust/200512" Dialect="urn:d"><signing.jwksUri>https://idp/jwks</signing.jwksUri></wst:Claims>');
var uris = el.getElementsByTagName("signing.jwksUri");
stsuu.addContextAttribute(new Attribute("jwks", "urn:test:xml", uris.item(0).getTextContent()));
stsuu.addContextAttribute(new Attribute("dialect", "urn:test:xml", el.getAttribute("Dialect")));
stsuu.addContextAttribute(new Attribute("local", "urn:test:xml", el.getLocalName() + "|" + el.getNodeName()));

// Round trip the user through its XML form.
var doc = stsuu.toXML();
var root = doc.getDocumentElement();
var names = root.getElementsByTagNameNS("urn:ibm:names:ITFIM:1.0:stsuuser", "Attribute");
var copy = new STSUniversalUser(root);
stsuu.addContextAttribute(new Attribute("roundtrip", "urn:test:xml", [copy.getPrincipalName(), String(names.getLength() > 5)]));
var text = stsuu.toString();
stsuu.addContextAttribute(new Attribute("xml_shape", "urn:test:xml",
	[String(text.indexOf("<stsuuser:RequestSecurityToken>") >= 0), String(text.lastIndexOf("<stsuuser:AdditionalAttributeStatement/>") > 0)]));
