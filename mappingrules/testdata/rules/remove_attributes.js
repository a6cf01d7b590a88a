importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);

stsuu.removeAttribute("internal_score", "urn:com:ibm:JWT:claim");
stsuu.getAttributeContainer().removeAttributes("department", null);
stsuu.getAttributeContainer().removeAttributeByNameAndType("email_verified", "urn:com:ibm:JWT:claim");
stsuu.getContextAttributes().removeAttribute(new Attribute("client_id", "urn:ibm:names:ITFIM:oauth:body:param", null));
stsuu.addAttribute(new Attribute("remaining", "urn:ibm:jwt:claim", stsuu.getAttributeContainer().getNumberOfAttributes()));
