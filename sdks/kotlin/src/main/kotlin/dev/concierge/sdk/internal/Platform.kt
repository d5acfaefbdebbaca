package dev.concierge.sdk.internal

/** Android's runtime names itself in `java.vm.vendor` / `java.vm.name` (Dalvik, also for ART). */
internal fun runsOnAndroid(): Boolean =
    System.getProperty("java.vm.vendor").orEmpty().contains("Android", ignoreCase = true) ||
        System.getProperty("java.vm.name").orEmpty().equals("Dalvik", ignoreCase = true)
