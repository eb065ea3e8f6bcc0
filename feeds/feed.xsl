<?xml version="1.0" encoding="UTF-8"?>
<!-- Shows an Atom or RSS feed of feedpub's as a page in a browser.  Readers
     skip it; a browser without XSLT shows the feed as it is, and every feed
     has a real page beside it (its name and .html). -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    xmlns:media="http://search.yahoo.com/mrss/"
    xmlns:dc="http://purl.org/dc/elements/1.1/"
    exclude-result-prefixes="atom media dc">
  <xsl:output method="html" encoding="UTF-8" doctype-system="about:legacy-compat"/>

  <!-- From the feed's folder to the output folder: the instruction that
       brought this stylesheet says ("../feed.xsl" in topics/). -->
  <xsl:variable name="instruction" select="string(/processing-instruction('xml-stylesheet'))"/>
  <xsl:variable name="root" select="substring-before(substring-after($instruction, 'href=&quot;'), 'feed.xsl')"/>
  <xsl:variable name="atom" select="boolean(/atom:feed)"/>
  <xsl:variable name="self">
    <xsl:choose>
      <xsl:when test="$atom"><xsl:value-of select="/atom:feed/atom:link[@rel='self']/@href"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="/rss/channel/atom:link[@rel='self']/@href"/></xsl:otherwise>
    </xsl:choose>
  </xsl:variable>
  <!-- The feed's file name without its format's suffix: its other files are
       that name with theirs, in the same folder. -->
  <xsl:variable name="file">
    <xsl:call-template name="last-segment"><xsl:with-param name="path" select="$self"/></xsl:call-template>
  </xsl:variable>
  <xsl:variable name="stem">
    <xsl:choose>
      <xsl:when test="substring($file, string-length($file) - 8) = '.atom.xml'"><xsl:value-of select="substring($file, 1, string-length($file) - 9)"/></xsl:when>
      <xsl:when test="substring($file, string-length($file) - 7) = '.rss.xml'"><xsl:value-of select="substring($file, 1, string-length($file) - 8)"/></xsl:when>
      <xsl:when test="substring($file, string-length($file) - 4) = '.json'"><xsl:value-of select="substring($file, 1, string-length($file) - 5)"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="$file"/></xsl:otherwise>
    </xsl:choose>
  </xsl:variable>
  <xsl:variable name="title">
    <xsl:choose>
      <xsl:when test="$atom"><xsl:value-of select="/atom:feed/atom:title"/></xsl:when>
      <xsl:otherwise><xsl:value-of select="/rss/channel/title"/></xsl:otherwise>
    </xsl:choose>
  </xsl:variable>

  <xsl:template match="/">
    <html>
      <xsl:attribute name="lang">
        <xsl:choose>
          <xsl:when test="$atom"><xsl:value-of select="/atom:feed/@xml:lang"/></xsl:when>
          <xsl:otherwise><xsl:value-of select="/rss/channel/language"/></xsl:otherwise>
        </xsl:choose>
      </xsl:attribute>
      <head>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/> (feed)</title>
        <link rel="stylesheet" href="{$root}style.css"/>
      </head>
      <body>
        <nav><a id="index-link" href="{$root}index.html">All feeds</a> · <a id="page-link" href="{$stem}.html">This feed as a web page</a></nav>
        <header>
          <h1 id="title"><xsl:value-of select="$title"/></h1>
          <p class="description">
            <xsl:choose>
              <xsl:when test="$atom"><xsl:value-of select="/atom:feed/atom:subtitle"/></xsl:when>
              <xsl:otherwise><xsl:value-of select="/rss/channel/description"/></xsl:otherwise>
            </xsl:choose>
          </p>
        </header>
        <section class="subscribe" id="subscribe">
          <p>This is a feed: copy its address into your feed reader to follow it.</p>
          <code class="address" id="address"><xsl:value-of select="$self"/></code>
          <p>The same feed in other formats:</p>
          <ul class="formats">
            <li><a class="format" href="{$stem}.atom.xml" type="application/atom+xml">Atom</a></li>
            <li><a class="format" href="{$stem}.rss.xml" type="application/rss+xml">RSS</a></li>
            <li><a class="format" href="{$stem}.json" type="application/feed+json">JSON Feed</a></li>
          </ul>
        </section>
        <main id="items">
          <xsl:apply-templates select="/atom:feed/atom:entry | /rss/channel/item"/>
        </main>
        <footer>
          <p><a href="{$root}index.html">All feeds</a> · <a href="{$root}feeds.opml" type="text/x-opml">Every feed as an OPML list</a></p>
        </footer>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="atom:entry | item">
    <article class="item">
      <h2 class="item-title">
        <a href="{atom:link[@rel='alternate']/@href | link}"><xsl:value-of select="atom:title | title"/></a>
      </h2>
      <p class="item-meta">
        <time class="item-date">
          <xsl:choose>
            <xsl:when test="atom:published">
              <xsl:attribute name="datetime"><xsl:value-of select="atom:published"/></xsl:attribute>
              <xsl:value-of select="substring(atom:published, 1, 10)"/>
            </xsl:when>
            <xsl:when test="pubDate">
              <!-- "Mon, 15 May 2023 23:01:00 +0000" as 2023-05-15 -->
              <xsl:variable name="month" select="string-length(substring-before('JanFebMarAprMayJunJulAugSepOctNovDec', substring(pubDate, 9, 3))) div 3 + 1"/>
              <xsl:value-of select="concat(substring(pubDate, 13, 4), '-', format-number($month, '00'), '-', substring(pubDate, 6, 2))"/>
            </xsl:when>
          </xsl:choose>
        </time>
        <xsl:if test="atom:author/atom:name | dc:creator">
          <xsl:text> · </xsl:text>
          <span class="item-provider"><xsl:value-of select="atom:author/atom:name | dc:creator"/></span>
        </xsl:if>
      </p>
      <xsl:if test="media:thumbnail/@url">
        <img class="item-image" src="{media:thumbnail/@url}" alt="" loading="lazy"/>
      </xsl:if>
      <!-- Summaries are HTML escaped from plain text: shown as that text. -->
      <xsl:variable name="summary" select="atom:summary | description"/>
      <xsl:if test="string($summary) != string(atom:title)">
        <p class="item-summary">
          <xsl:call-template name="unescape"><xsl:with-param name="text" select="string($summary)"/></xsl:call-template>
        </p>
      </xsl:if>
      <xsl:if test="atom:category | category">
        <ul class="item-topics">
          <xsl:for-each select="atom:category/@term | category">
            <li><xsl:value-of select="."/></li>
          </xsl:for-each>
        </ul>
      </xsl:if>
    </article>
  </xsl:template>

  <xsl:template name="last-segment">
    <xsl:param name="path"/>
    <xsl:choose>
      <xsl:when test="contains($path, '/')">
        <xsl:call-template name="last-segment"><xsl:with-param name="path" select="substring-after($path, '/')"/></xsl:call-template>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$path"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>

  <!-- &lt; &gt; and &amp; back to the characters they stand for, as text
       (written escaped again by the output: it never becomes markup). -->
  <xsl:template name="unescape">
    <xsl:param name="text"/>
    <xsl:choose>
      <xsl:when test="contains($text, '&amp;')">
        <xsl:variable name="after" select="substring-after($text, '&amp;')"/>
        <xsl:value-of select="substring-before($text, '&amp;')"/>
        <xsl:choose>
          <xsl:when test="starts-with($after, 'lt;')"><xsl:text>&lt;</xsl:text><xsl:call-template name="unescape"><xsl:with-param name="text" select="substring($after, 4)"/></xsl:call-template></xsl:when>
          <xsl:when test="starts-with($after, 'gt;')"><xsl:text>&gt;</xsl:text><xsl:call-template name="unescape"><xsl:with-param name="text" select="substring($after, 4)"/></xsl:call-template></xsl:when>
          <xsl:when test="starts-with($after, 'amp;')"><xsl:text>&amp;</xsl:text><xsl:call-template name="unescape"><xsl:with-param name="text" select="substring($after, 5)"/></xsl:call-template></xsl:when>
          <xsl:otherwise><xsl:text>&amp;</xsl:text><xsl:call-template name="unescape"><xsl:with-param name="text" select="$after"/></xsl:call-template></xsl:otherwise>
        </xsl:choose>
      </xsl:when>
      <xsl:otherwise><xsl:value-of select="$text"/></xsl:otherwise>
    </xsl:choose>
  </xsl:template>
</xsl:stylesheet>
