importPackage(Packages.com.tivoli.am.fim.trustserver.sts.uuser);
// Names resolve case-insensitively against file names.
importMappingRule("shared_helpers");
stsuu.addAttribute(claim("helper_version", HELPER_VERSION));
